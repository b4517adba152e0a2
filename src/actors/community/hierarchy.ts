// The two rules that keep a community from being taken over from inside: nobody acts on a role (or a
// member) at or above their own highest role, and the last administrator is never removed.
import { SqlClient } from "@effect/sql"
import { Effect, Schema } from "effect"
import { Forbidden, RoleHierarchy } from "../../protocol/errors.js"
import { has, Permission, PermissionSetFromString } from "../../protocol/permissions.js"
import { BoolColumn, decodeRows, IntColumn } from "../../runtime/db/columns.js"
import type { Membership } from "./access/Membership.js"

/** The owner outranks everyone; anyone else only what sits strictly below their highest role. */
export const outranks = (actor: Membership, position: number) => actor.owner || actor.top_position > position

export const requireOutranks = (actor: Membership, position: number, message?: string) =>
  outranks(actor, position) ? Effect.void : Effect.fail(new RoleHierarchy(message === undefined ? {} : { message }))

/** A member is acted on (kick, ban, nickname) only by someone who outranks their highest role. */
export const requireOutranksMember = (actor: Membership, target: Membership) =>
  target.owner || !outranks(actor, target.top_position)
    ? Effect.fail(new RoleHierarchy({ message: "You cannot act on a member whose highest role is at or above yours." }))
    : Effect.void

const AdminRoleRow = Schema.Struct({ id: IntColumn, permissions: PermissionSetFromString, is_everyone: BoolColumn })
const CountRow = Schema.Struct({ n: IntColumn })

/** How many members hold ADMINISTRATOR, as the current transaction sees it. */
export const administratorCount = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  const roles = yield* sql`SELECT id, permissions, is_everyone FROM roles`.pipe(Effect.flatMap(decodeRows(AdminRoleRow)))
  const admin = roles.filter((r) => has(r.permissions, Permission.ADMINISTRATOR))
  if (admin.some((r) => r.is_everyone)) {
    return (yield* sql`SELECT COUNT(*) AS n FROM members`.pipe(Effect.flatMap(decodeRows(CountRow))))[0]?.n ?? 0
  }
  if (admin.length === 0) return 0
  const rows = yield* sql`SELECT COUNT(DISTINCT mr.user_id) AS n FROM member_roles mr
    JOIN members m ON m.user_id = mr.user_id WHERE ${sql.in("mr.role_id", admin.map((r) => r.id))}`.pipe(
    Effect.flatMap(decodeRows(CountRow))
  )
  return rows[0]?.n ?? 0
})

/**
 * Run at the end of a write that could remove an administrator (revoke, role edit or delete, kick,
 * ban, leave): fails, and so rolls the whole write back, when it left the community without one.
 */
export const requireAnAdministrator = Effect.flatMap(administratorCount, (n) =>
  n > 0 ? Effect.void : Effect.fail(new Forbidden({ message: "The last administrator cannot be removed." })))
