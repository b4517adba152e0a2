// SQL of the Community entity's accounts and server settings.
import { SqlClient } from "@effect/sql"
import { Effect, Option, Schema } from "effect"
import type { ServerPatch } from "../../protocol/api/server.js"
import { RoleId, UserId } from "../../protocol/ids.js"
import { BoolColumn, decodeRows, IntColumn } from "../../runtime/db/columns.js"
import { VoxConfig } from "../../runtime/config/VoxConfig.js"

const ServerRow = Schema.Struct({
  name: Schema.NullOr(Schema.String),
  icon: Schema.NullOr(Schema.String),
  description: Schema.NullOr(Schema.String),
  owner_id: Schema.NullOr(IntColumn),
  admin_role_id: Schema.NullOr(IntColumn)
})

const AccountRow = Schema.Struct({
  id: Schema.compose(IntColumn, UserId),
  username: Schema.String,
  display_name: Schema.String,
  suspended: BoolColumn,
  created_at: IntColumn
})

const IdRow = Schema.Struct({ id: IntColumn })

export class CommunityRepo extends Effect.Service<CommunityRepo>()("vox/CommunityRepo", {
  effect: Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const config = yield* VoxConfig

    const server = sql`SELECT name, icon, description, owner_id, admin_role_id FROM server WHERE id = 1`.pipe(
      Effect.flatMap(decodeRows(ServerRow)),
      Effect.map((rows) => rows[0]!),
      // the name in the database wins once an administrator set one
      Effect.map((row) => ({ ...row, name: row.name ?? config.server.name }))
    )

    const updateServer = (patch: ServerPatch) =>
      Effect.gen(function* () {
        const set: Record<string, string | number | null> = { updated_at: Date.now() }
        if (patch.name !== undefined) set.name = patch.name
        if (patch.icon !== undefined) set.icon = patch.icon
        if (patch.description !== undefined) set.description = patch.description
        yield* sql`UPDATE server SET ${sql.update(set)} WHERE id = 1`
      })

    const findAccountByKey = (usernameKey: string) =>
      sql`SELECT id FROM users WHERE username_key = ${usernameKey}`.pipe(
        Effect.flatMap(decodeRows(IdRow)),
        Effect.map((rows) => Option.fromNullable(rows[0]?.id))
      )

    const insertAccount = (input: { username: string; displayName: string; passwordHash: string; now: number }) =>
      Effect.gen(function* () {
        const rows = yield* sql`INSERT INTO users ${sql.insert({
          username: input.username,
          username_key: input.username.toLowerCase(),
          display_name: input.displayName,
          created_at: input.now,
          updated_at: input.now
        })} RETURNING id`.pipe(Effect.flatMap(decodeRows(Schema.Struct({ id: Schema.compose(IntColumn, UserId) }))))
        const id = rows[0]!.id
        yield* sql`INSERT INTO credentials ${sql.insert({ user_id: id, password_hash: input.passwordHash, updated_at: input.now })}`
        return id
      })

    const accounts = sql`SELECT id, username, display_name, suspended, created_at FROM users ORDER BY id`.pipe(
      Effect.flatMap(decodeRows(AccountRow))
    )

    const createRole = (input: { name: string; permissions: bigint; position: number }) =>
      sql`INSERT INTO roles ${sql.insert({
        name: input.name,
        permissions: input.permissions.toString(),
        position: input.position,
        created_at: Date.now()
      })} RETURNING id`.pipe(
        Effect.flatMap(decodeRows(Schema.Struct({ id: Schema.compose(IntColumn, RoleId) }))),
        Effect.map((rows) => rows[0]!.id)
      )

    const assignRole = (userId: number, roleId: number) =>
      sql`INSERT INTO member_roles (user_id, role_id) VALUES (${userId}, ${roleId}) ON CONFLICT DO NOTHING`

    const revokeRole = (userId: number, roleId: number) =>
      sql`DELETE FROM member_roles WHERE user_id = ${userId} AND role_id = ${roleId}`

    const setOwner = (userId: number, adminRoleId: number) =>
      sql`UPDATE server SET owner_id = ${userId}, admin_role_id = ${adminRoleId} WHERE id = 1`

    const setAdminRole = (roleId: number) => sql`UPDATE server SET admin_role_id = ${roleId} WHERE id = 1`

    const setSuspended = (userId: number, suspended: boolean) =>
      sql`UPDATE users SET suspended = ${suspended ? 1 : 0}, updated_at = ${Date.now()} WHERE id = ${userId}`

    return {
      server,
      updateServer,
      findAccountByKey,
      insertAccount,
      accounts,
      createRole,
      assignRole,
      revokeRole,
      setOwner,
      setAdminRole,
      setSuspended
    } as const
  })
}) {}
