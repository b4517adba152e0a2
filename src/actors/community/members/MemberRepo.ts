// SQL of members: the `members` rows, their role assignments, and the Member wire view.
import { SqlClient } from "@effect/sql"
import { Effect, Option, Schema } from "effect"
import type { Member } from "../../../protocol/api/members.js"
import { RoleId, UserId } from "../../../protocol/ids.js"
import { decodeRows, IntColumn } from "../../../runtime/db/columns.js"

const MemberRow = Schema.Struct({
  user_id: Schema.compose(IntColumn, UserId),
  username: Schema.String,
  display_name: Schema.String,
  avatar: Schema.NullOr(Schema.String),
  nickname: Schema.NullOr(Schema.String),
  joined_at: IntColumn
})
type MemberRow = typeof MemberRow.Type

const AssignmentRow = Schema.Struct({
  user_id: Schema.compose(IntColumn, UserId),
  role_id: Schema.compose(IntColumn, RoleId)
})

const toMember = (row: MemberRow, roleIds: ReadonlyArray<RoleId>): Member => ({
  user_id: row.user_id,
  username: row.username,
  display_name: row.display_name,
  avatar: row.avatar,
  nickname: row.nickname,
  role_ids: roleIds,
  joined_at: new Date(row.joined_at).toISOString()
})

export class MemberRepo extends Effect.Service<MemberRepo>()("vox/MemberRepo", {
  effect: Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient

    /** Role ids per user (highest position first), @everyone not included. */
    const rolesOf = (userIds: ReadonlyArray<number>) =>
      userIds.length === 0
        ? Effect.succeed(new Map<number, Array<RoleId>>())
        : sql`SELECT mr.user_id, mr.role_id FROM member_roles mr JOIN roles r ON r.id = mr.role_id
            WHERE ${sql.in("mr.user_id", userIds)} ORDER BY r.position DESC, r.id`.pipe(
          Effect.flatMap(decodeRows(AssignmentRow)),
          Effect.map((rows) => {
            const byUser = new Map<number, Array<RoleId>>()
            for (const r of rows) byUser.set(r.user_id, [...(byUser.get(r.user_id) ?? []), r.role_id])
            return byUser
          })
        )

    const find = (userId: number) =>
      Effect.gen(function* () {
        const rows = yield* sql`SELECT m.user_id, u.username, u.display_name, u.avatar, m.nickname, m.joined_at
          FROM members m JOIN users u ON u.id = m.user_id WHERE m.user_id = ${userId}`.pipe(
          Effect.flatMap(decodeRows(MemberRow))
        )
        const row = rows[0]
        if (row === undefined) return Option.none<Member>()
        const roles = yield* rolesOf([row.user_id])
        return Option.some(toMember(row, roles.get(row.user_id) ?? []))
      })

    /** Members in user id order after `afterId`, at most `limit`. */
    const page = (afterId: number, limit: number) =>
      Effect.gen(function* () {
        const rows = yield* sql`SELECT m.user_id, u.username, u.display_name, u.avatar, m.nickname, m.joined_at
          FROM members m JOIN users u ON u.id = m.user_id WHERE m.user_id > ${afterId}
          ORDER BY m.user_id LIMIT ${limit}`.pipe(Effect.flatMap(decodeRows(MemberRow)))
        const roles = yield* rolesOf(rows.map((r) => r.user_id))
        return rows.map((row) => toMember(row, roles.get(row.user_id) ?? []))
      })

    const count = sql`SELECT COUNT(*) AS n FROM members`.pipe(
      Effect.flatMap(decodeRows(Schema.Struct({ n: IntColumn }))),
      Effect.map((rows) => rows[0]?.n ?? 0)
    )

    const insert = (userId: number, now: number) =>
      sql`INSERT INTO members ${sql.insert({ user_id: userId, joined_at: now })}`

    /** Ends a membership: the row and its role assignments go, the account stays. */
    const remove = (userId: number) =>
      Effect.zipRight(
        sql`DELETE FROM member_roles WHERE user_id = ${userId}`,
        sql`DELETE FROM members WHERE user_id = ${userId}`
      )

    const setNickname = (userId: number, nickname: string | null) =>
      sql`UPDATE members SET nickname = ${nickname} WHERE user_id = ${userId}`

    return { find, page, count, insert, remove, setNickname, rolesOf } as const
  })
}) {}
