// SQL of invites. Times are stored in milliseconds like every other table and travel as Unix seconds.
import { SqlClient } from "@effect/sql"
import { Effect, Option, Schema } from "effect"
import type { Invite } from "../../../protocol/api/invites.js"
import { FeedId, UserId } from "../../../protocol/ids.js"
import { decodeRows, IntColumn } from "../../../runtime/db/columns.js"
import type { InvitePosition } from "./rpcs.js"

const InviteRow = Schema.Struct({
  code: Schema.String,
  creator_id: Schema.NullOr(Schema.compose(IntColumn, UserId)),
  feed_id: Schema.NullOr(Schema.compose(IntColumn, FeedId)),
  max_uses: Schema.NullOr(IntColumn),
  uses: IntColumn,
  expires_at: Schema.NullOr(IntColumn),
  created_at: IntColumn
})
export type InviteRow = typeof InviteRow.Type

const seconds = (ms: number) => Math.floor(ms / 1000)

export const toInvite = (row: InviteRow): Invite => ({
  code: row.code,
  creator_id: row.creator_id,
  feed_id: row.feed_id,
  max_uses: row.max_uses,
  uses: row.uses,
  expires_at: row.expires_at === null ? null : seconds(row.expires_at),
  created_at: seconds(row.created_at)
})

export const isExpired = (row: InviteRow, now: number) => row.expires_at !== null && row.expires_at <= now
export const isUsedUp = (row: InviteRow) => row.max_uses !== null && row.uses >= row.max_uses

const COLUMNS = "code, creator_id, feed_id, max_uses, uses, expires_at, created_at"

export const makeInviteRepo = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient

  const find = (code: string) =>
    sql`SELECT ${sql.literal(COLUMNS)} FROM invites WHERE code = ${code}`.pipe(
      Effect.flatMap(decodeRows(InviteRow)),
      Effect.map((rows) => Option.fromNullable(rows[0]))
    )

  /** Invites in creation order after `after`, at most `limit`. */
  const page = (after: InvitePosition | undefined, limit: number) =>
    (after === undefined
      ? sql`SELECT ${sql.literal(COLUMNS)} FROM invites ORDER BY created_at, code LIMIT ${limit}`
      : sql`SELECT ${sql.literal(COLUMNS)} FROM invites
          WHERE created_at > ${after.created_at} OR (created_at = ${after.created_at} AND code > ${after.code})
          ORDER BY created_at, code LIMIT ${limit}`).pipe(Effect.flatMap(decodeRows(InviteRow)))

  /** Invites someone could still use: not expired, uses left. Spent ones do not count against `max_invites`. */
  const countUsable = (now: number) =>
    sql`SELECT COUNT(*) AS n FROM invites
      WHERE (expires_at IS NULL OR expires_at > ${now}) AND (max_uses IS NULL OR uses < max_uses)`.pipe(
      Effect.flatMap(decodeRows(Schema.Struct({ n: IntColumn }))),
      Effect.map((rows) => rows[0]?.n ?? 0)
    )

  const insert = (row: InviteRow) => sql`INSERT INTO invites ${sql.insert({ ...row })}`

  const remove = (code: string) => sql`DELETE FROM invites WHERE code = ${code}`

  /**
   * Spends one use, only if one is left: true when it was spent. The condition is in the UPDATE
   * itself, so two joins can never both take the last use.
   */
  const consume = (code: string) =>
    sql`UPDATE invites SET uses = uses + 1
      WHERE code = ${code} AND (max_uses IS NULL OR uses < max_uses) RETURNING uses`.pipe(
      Effect.map((rows) => rows.length > 0)
    )

  return { find, page, countUsable, insert, remove, consume } as const
})

export type InviteRepo = Effect.Effect.Success<typeof makeInviteRepo>
