// Behaviour of roles. Every write checks, in the transaction that makes the change: the role exists,
// @everyone keeps its name, place and members, the actor outranks the role (and where it goes), the
// actor holds what the role would grant, and (at the end) an administrator remains.
import type { Entity } from "@effect/cluster"
import { Rpc } from "@effect/rpc"
import { Effect, Either, Option, Schema } from "effect"
import type { Role, RolePatch } from "../../../protocol/api/roles.js"
import { Forbidden, InvalidBody, LimitReached, RoleNotFound, UserNotFound } from "../../../protocol/errors.js"
import { MemberUpdate, RoleAssign, RoleCreate, RoleDelete, RoleRevoke, RoleUpdate } from "../../../protocol/events.js"
import type { UserId } from "../../../protocol/ids.js"
import { decodeCursor, encodeCursor } from "../../../protocol/pagination.js"
import { has, missingPermissionName, NO_PERMISSIONS, Permission } from "../../../protocol/permissions.js"
import { dieOnStorageError } from "../../../runtime/db/storageErrors.js"
import type { AccessView } from "../access/AccessCache.js"
import type { Membership } from "../access/Membership.js"
import type { CommunityContext, Tx } from "../CommunityTx.js"
import { requireAnAdministrator, requireOutranks } from "../hierarchy.js"
import { readLimits } from "../limits/limits.js"
import { MemberRepo } from "../members/MemberRepo.js"
import { makeRoleRepo } from "./RoleRepo.js"
import type { RoleRpcs } from "./rpcs.js"

const everyone = { _tag: "server" } as const
const RoleCursor = Schema.Struct({ id: Schema.Number.pipe(Schema.int(), Schema.nonNegative()) })
/** The fields of a role an edit can change, in the order the audit entry lists them. */
const FIELDS = ["name", "color", "permissions", "position", "mentionable", "hoist"] as const

/** The actor as the transaction sees them; a caller who stopped being a member since the route's check acts on nothing. */
const actorOf = (view: AccessView, userId: UserId) =>
  Effect.flatMap(view.standing(userId), (found) =>
    Option.isSome(found) && found.value.member && !found.value.banned
      ? Effect.succeed(found.value)
      : Effect.fail(new Forbidden({ message: "You are not a member of this server." })))

const isAdministrator = (actor: Membership) => actor.owner || has(actor.permissions, Permission.ADMINISTRATOR)

/**
 * Nobody hands out a permission they do not hold themselves (owner and administrators aside): not by
 * creating or editing a role, nor by assigning one. `missing_permission` names the first bit lacking.
 */
const requireGrantable = (actor: Membership, bits: bigint) => {
  if (isAdministrator(actor) || (bits & ~actor.permissions) === 0n) return Effect.void
  const missing = missingPermissionName(bits, actor.permissions)
  return Effect.fail(new Forbidden({
    message: `You cannot grant ${missing}, a permission you do not hold.`,
    missing_permission: missing
  }))
}

/** A role holding ADMINISTRATOR is edited, deleted or taken away only by an administrator. */
const requireAdministratorFor = (actor: Membership, role: Role) =>
  has(role.permissions, Permission.ADMINISTRATOR) && !isAdministrator(actor)
    ? Effect.fail(new Forbidden({
      message: "Only an administrator can change a role that holds ADMINISTRATOR.",
      missing_permission: "ADMINISTRATOR"
    }))
    : Effect.void

/** The fields of `patch` that differ from `role`. */
const changedFields = (role: Role, patch: RolePatch) =>
  FIELDS.filter((field) => patch[field] !== undefined && patch[field] !== role[field])

export const roleHandlers = (ctx: CommunityContext) =>
  Effect.gen(function* () {
    const repo = yield* makeRoleRepo
    const members = yield* MemberRepo

    const findRole = (roleId: number) =>
      Effect.flatMap(repo.find(roleId), Option.match({
        onNone: () => Effect.fail(new RoleNotFound()),
        onSome: Effect.succeed
      }))

    const findMember = (view: AccessView, userId: UserId) =>
      Effect.flatMap(view.standing(userId), (found) =>
        Option.isSome(found) && found.value.member ? Effect.void : Effect.fail(new UserNotFound()))

    const notEveryone = (stored: { readonly everyone: boolean }, action: string) =>
      stored.everyone
        ? Effect.fail(new Forbidden({ message: `@everyone cannot be ${action}: every member has it.` }))
        : Effect.void

    /** ROLE_ASSIGN / ROLE_REVOKE, then the whole member as it is now (MEMBER_UPDATE), and the audit entry. */
    const announceAssignment = (tx: Tx, input: { actor: UserId; user_id: UserId; role: Role; assigned: boolean }) =>
      Effect.gen(function* () {
        const data = { user_id: input.user_id, role_id: input.role.role_id }
        yield* tx.emit(input.assigned ? RoleAssign : RoleRevoke, data, everyone)
        const member = yield* members.find(input.user_id)
        if (Option.isSome(member)) yield* tx.emit(MemberUpdate, member.value, everyone)
        yield* tx.audit({
          event_type: input.assigned ? "role.assign" : "role.revoke",
          actor_id: input.actor,
          target_id: input.user_id,
          metadata: { role_id: input.role.role_id, name: input.role.name }
        })
      })

    return {
      ListRoles: ({ payload }) =>
        Rpc.fork(Effect.gen(function* () {
          const after = payload.after === undefined
            ? 0
            : yield* Either.match(decodeCursor(RoleCursor, payload.after), {
              onLeft: () => Effect.fail(new InvalidBody({ message: "Invalid cursor", location: "query" })),
              onRight: (c) => Effect.succeed(c.id)
            })
          const rows = yield* repo.page(after, payload.limit + 1)
          const items = rows.slice(0, payload.limit)
          const last = items.at(-1)
          return {
            items,
            cursor: rows.length > payload.limit && last !== undefined ? encodeCursor({ id: last.role_id }) : null
          }
        }).pipe(dieOnStorageError)),

      CreateRole: ({ payload }) =>
        ctx.write((tx) =>
          Effect.gen(function* () {
            const actor = yield* actorOf(yield* ctx.access.fresh, payload.actor)
            const input = payload.role
            // Position 1 is the lowest a created role can take: just above @everyone.
            const position = input.position ?? 1
            yield* requireOutranks(actor, position, "You cannot create a role at or above your own highest role.")
            const permissions = input.permissions ?? NO_PERMISSIONS
            yield* requireGrantable(actor, permissions)
            const { max_roles } = yield* readLimits
            if ((yield* repo.count) >= max_roles) {
              return yield* new LimitReached({
                message: `This server has reached its limit of ${max_roles} roles.`,
                limit: "max_roles",
                max: max_roles
              })
            }
            const roleId = yield* repo.insert({ ...input, permissions, position })
            const { role } = yield* findRole(roleId).pipe(Effect.orDie)
            yield* tx.emit(RoleCreate, role, everyone)
            yield* tx.audit({
              event_type: "role.create",
              actor_id: payload.actor,
              target_id: roleId,
              metadata: { role_id: roleId, name: role.name, position: role.position, permissions: role.permissions.toString() }
            })
            return role
          })
        ).pipe(dieOnStorageError),

      UpdateRole: ({ payload }) =>
        ctx.write((tx) =>
          Effect.gen(function* () {
            const actor = yield* actorOf(yield* ctx.access.fresh, payload.actor)
            const stored = yield* findRole(payload.role_id)
            const before = stored.role
            const patch = payload.patch
            if (stored.everyone && FIELDS.some((f) => f !== "permissions" && patch[f] !== undefined)) {
              return yield* new Forbidden({ message: "Only the permissions of @everyone can be changed." })
            }
            yield* requireOutranks(actor, before.position)
            if (patch.position !== undefined) {
              yield* requireOutranks(actor, patch.position, "You cannot move a role to or above your own highest role.")
            }
            yield* requireAdministratorFor(actor, before)
            if (patch.permissions !== undefined) {
              // Only what the edit adds is a grant: keeping or removing bits the actor lacks is not.
              yield* requireGrantable(actor, patch.permissions & ~before.permissions)
            }
            const changed = changedFields(before, patch)
            if (changed.length === 0) return before
            yield* repo.update(before.role_id, patch)
            if (changed.includes("permissions")) yield* requireAnAdministrator
            const { role } = yield* findRole(before.role_id).pipe(Effect.orDie)
            yield* tx.emit(RoleUpdate, role, everyone)
            yield* tx.audit({
              event_type: "role.update",
              actor_id: payload.actor,
              target_id: role.role_id,
              metadata: {
                role_id: role.role_id,
                name: role.name,
                changed,
                ...(changed.includes("name") ? { previous_name: before.name } : {}),
                ...(changed.includes("permissions") ? { permissions: role.permissions.toString() } : {}),
                ...(changed.includes("position") ? { position: role.position } : {})
              }
            })
            return role
          })
        ).pipe(dieOnStorageError),

      DeleteRole: ({ payload }) =>
        ctx.write((tx) =>
          Effect.gen(function* () {
            const actor = yield* actorOf(yield* ctx.access.fresh, payload.actor)
            const stored = yield* findRole(payload.role_id)
            const role = stored.role
            yield* notEveryone(stored, "deleted")
            yield* requireOutranks(actor, role.position)
            yield* requireAdministratorFor(actor, role)
            yield* repo.remove(role.role_id)
            yield* requireAnAdministrator
            yield* tx.emit(RoleDelete, { role_id: role.role_id }, everyone)
            yield* tx.audit({
              event_type: "role.delete",
              actor_id: payload.actor,
              target_id: role.role_id,
              metadata: { role_id: role.role_id, name: role.name }
            })
          })
        ).pipe(dieOnStorageError),

      AssignRole: ({ payload }) =>
        ctx.write((tx) =>
          Effect.gen(function* () {
            const view = yield* ctx.access.fresh
            const actor = yield* actorOf(view, payload.actor)
            yield* findMember(view, payload.user_id)
            const stored = yield* findRole(payload.role_id)
            yield* notEveryone(stored, "assigned")
            yield* requireOutranks(actor, stored.role.position)
            // Assigning a role grants what it holds: the same rule as putting it in a role.
            yield* requireGrantable(actor, stored.role.permissions)
            if (yield* repo.isAssigned(payload.user_id, payload.role_id)) return
            yield* repo.assign(payload.user_id, payload.role_id)
            yield* announceAssignment(tx, { ...payload, role: stored.role, assigned: true })
          })
        ).pipe(dieOnStorageError),

      RevokeRole: ({ payload }) =>
        ctx.write((tx) =>
          Effect.gen(function* () {
            const view = yield* ctx.access.fresh
            const actor = yield* actorOf(view, payload.actor)
            yield* findMember(view, payload.user_id)
            const stored = yield* findRole(payload.role_id)
            yield* notEveryone(stored, "revoked")
            yield* requireOutranks(actor, stored.role.position)
            yield* requireAdministratorFor(actor, stored.role)
            if (!(yield* repo.isAssigned(payload.user_id, payload.role_id))) return
            yield* repo.revoke(payload.user_id, payload.role_id)
            yield* requireAnAdministrator
            yield* announceAssignment(tx, { ...payload, role: stored.role, assigned: false })
          })
        ).pipe(dieOnStorageError)
    } satisfies Entity.HandlersFrom<(typeof RoleRpcs)[number]>
  })
