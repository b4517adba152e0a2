// SQL of roles and their assignments, and the Role wire view. Read in the caller's transaction when
// called inside a write, so a handler sees its own changes.
import { SqlClient } from "@effect/sql"
import { Effect, Option, Schema } from "effect"
import type { Role } from "../../../protocol/api/roles.js"
import { RoleId } from "../../../protocol/ids.js"
import { type PermissionSet, PermissionSetFromString } from "../../../protocol/permissions.js"
import { BoolColumn, decodeRows, IntColumn } from "../../../runtime/db/columns.js"

const RoleRow = Schema.Struct({
  id: Schema.compose(IntColumn, RoleId),
  name: Schema.String,
  color: Schema.NullOr(IntColumn),
  permissions: PermissionSetFromString,
  position: IntColumn,
  mentionable: BoolColumn,
  hoist: BoolColumn,
  is_everyone: BoolColumn
})
type RoleRow = typeof RoleRow.Type

/** A role as stored: the wire view plus whether it is @everyone. */
export interface StoredRole {
  readonly role: Role
  readonly everyone: boolean
}

const toStored = (row: RoleRow): StoredRole => ({
  role: {
    role_id: row.id,
    name: row.name,
    color: row.color,
    permissions: row.permissions,
    position: row.position,
    mentionable: row.mentionable,
    hoist: row.hoist
  },
  everyone: row.is_everyone
})

/** The columns a create or an edit writes; absent fields are left as they are. */
export interface RoleFields {
  readonly name?: string | undefined
  readonly color?: number | null | undefined
  readonly permissions?: PermissionSet | undefined
  readonly position?: number | undefined
  readonly mentionable?: boolean | undefined
  readonly hoist?: boolean | undefined
}

const columnsOf = (fields: RoleFields) => {
  const set: Record<string, string | number | null> = {}
  if (fields.name !== undefined) set.name = fields.name
  if (fields.color !== undefined) set.color = fields.color
  if (fields.permissions !== undefined) set.permissions = fields.permissions.toString()
  if (fields.position !== undefined) set.position = fields.position
  if (fields.mentionable !== undefined) set.mentionable = fields.mentionable ? 1 : 0
  if (fields.hoist !== undefined) set.hoist = fields.hoist ? 1 : 0
  return set
}

const CountRow = Schema.Struct({ n: IntColumn })

export const makeRoleRepo = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  const find = (roleId: number) =>
    sql`SELECT id, name, color, permissions, position, mentionable, hoist, is_everyone
      FROM roles WHERE id = ${roleId}`.pipe(
      Effect.flatMap(decodeRows(RoleRow)),
      Effect.map((rows) => Option.map(Option.fromNullable(rows[0]), toStored))
    )

  /** Roles in id order after `afterId` (@everyone, id 1, comes first), at most `limit`. */
  const page = (afterId: number, limit: number) =>
    sql`SELECT id, name, color, permissions, position, mentionable, hoist, is_everyone
      FROM roles WHERE id > ${afterId} ORDER BY id LIMIT ${limit}`.pipe(
      Effect.flatMap(decodeRows(RoleRow)),
      Effect.map((rows) => rows.map((row) => toStored(row).role))
    )

  /** Every role, @everyone included: what `max_roles` counts. */
  const count = sql`SELECT COUNT(*) AS n FROM roles`.pipe(
    Effect.flatMap(decodeRows(CountRow)),
    Effect.map((rows) => rows[0]?.n ?? 0)
  )

  const insert = (fields: RoleFields & { readonly name: string; readonly position: number }) =>
    sql`INSERT INTO roles ${sql.insert({
      name: fields.name,
      color: null,
      permissions: "0",
      mentionable: 0,
      hoist: 0,
      ...columnsOf(fields),
      is_everyone: 0,
      created_at: Date.now()
    })} RETURNING id`.pipe(
      Effect.flatMap(decodeRows(Schema.Struct({ id: Schema.compose(IntColumn, RoleId) }))),
      Effect.map((rows) => rows[0]!.id)
    )

  const update = (roleId: number, fields: RoleFields) => {
    const set = columnsOf(fields)
    return Object.keys(set).length === 0 ? Effect.void : sql`UPDATE roles SET ${sql.update(set)} WHERE id = ${roleId}`
  }

  /**
   * Deletes a role with everything that names it: its assignments, its feed and room overrides, and
   * the server's pointer to it when it was the Admin role (which is then recreated on demand).
   */
  const remove = (roleId: number) =>
    Effect.all([
      sql`DELETE FROM member_roles WHERE role_id = ${roleId}`,
      sql`DELETE FROM permission_overrides WHERE target_type = 'role' AND target_id = ${roleId}`,
      sql`UPDATE server SET admin_role_id = NULL WHERE id = 1 AND admin_role_id = ${roleId}`,
      sql`DELETE FROM roles WHERE id = ${roleId}`
    ], { discard: true })

  const isAssigned = (userId: number, roleId: number) =>
    sql`SELECT COUNT(*) AS n FROM member_roles WHERE user_id = ${userId} AND role_id = ${roleId}`.pipe(
      Effect.flatMap(decodeRows(CountRow)),
      Effect.map((rows) => (rows[0]?.n ?? 0) > 0)
    )

  const assign = (userId: number, roleId: number) =>
    sql`INSERT INTO member_roles (user_id, role_id) VALUES (${userId}, ${roleId}) ON CONFLICT DO NOTHING`

  const revoke = (userId: number, roleId: number) =>
    sql`DELETE FROM member_roles WHERE user_id = ${userId} AND role_id = ${roleId}`

  return { find, page, count, insert, update, remove, isAssigned, assign, revoke } as const
})

export type RoleRepo = Effect.Effect.Success<typeof makeRoleRepo>
