// SQL of bans: one row per banned account, whether or not it was a member when banned.
import { SqlClient } from "@effect/sql"
import { Effect, Option, Schema } from "effect"
import type { Ban } from "../../../protocol/api/members.js"
import { UserId } from "../../../protocol/ids.js"
import { decodeRows, IntColumn } from "../../../runtime/db/columns.js"

const BanRow = Schema.Struct({
  user_id: Schema.compose(IntColumn, UserId),
  username: Schema.String,
  display_name: Schema.String,
  reason: Schema.NullOr(Schema.String),
  banned_by: Schema.NullOr(Schema.compose(IntColumn, UserId)),
  banned_at: IntColumn
})
type BanRow = typeof BanRow.Type

const toBan = (row: BanRow): Ban => ({
  user_id: row.user_id,
  username: row.username,
  display_name: row.display_name,
  reason: row.reason,
  banned_by: row.banned_by,
  banned_at: new Date(row.banned_at).toISOString()
})

export interface BanInput {
  readonly userId: number
  readonly reason: string | null
  readonly deleteMsgDays: number
  readonly bannedBy: number | null
  readonly now: number
}

export const makeBanRepo = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient

  const find = (userId: number) =>
    sql`SELECT b.user_id, u.username, u.display_name, b.reason, b.banned_by, b.banned_at
      FROM bans b JOIN users u ON u.id = b.user_id WHERE b.user_id = ${userId}`.pipe(
      Effect.flatMap(decodeRows(BanRow)),
      Effect.map((rows) => Option.map(Option.fromNullable(rows[0]), toBan))
    )

  /** Bans in user id order after `afterId`, at most `limit`. */
  const page = (afterId: number, limit: number) =>
    sql`SELECT b.user_id, u.username, u.display_name, b.reason, b.banned_by, b.banned_at
      FROM bans b JOIN users u ON u.id = b.user_id WHERE b.user_id > ${afterId}
      ORDER BY b.user_id LIMIT ${limit}`.pipe(
      Effect.flatMap(decodeRows(BanRow)),
      Effect.map((rows) => rows.map(toBan))
    )

  const insert = (ban: BanInput) =>
    sql`INSERT INTO bans ${sql.insert({
      user_id: ban.userId,
      reason: ban.reason,
      delete_msg_days: ban.deleteMsgDays,
      banned_by: ban.bannedBy,
      banned_at: ban.now
    })}`

  /** A second ban of the same account: the new reason and moderator, the first ban's time. */
  const update = (ban: BanInput) =>
    sql`UPDATE bans SET ${sql.update({
      reason: ban.reason,
      delete_msg_days: ban.deleteMsgDays,
      banned_by: ban.bannedBy
    })} WHERE user_id = ${ban.userId}`

  const remove = (userId: number) => sql`DELETE FROM bans WHERE user_id = ${userId}`

  return { find, page, insert, update, remove } as const
})
