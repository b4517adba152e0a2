// Behaviour of accounts and server settings. The entity runs one write at a time, so "is there an
// owner yet?" and "is this the last administrator?" are answered and acted on without races.
import type { Entity } from "@effect/cluster"
import { Rpc } from "@effect/rpc"
import { Effect, Option } from "effect"
import { RegistrationClosed, UsernameTaken, UserNotFound } from "../../../protocol/errors.js"
import { MemberJoin, ServerUpdate } from "../../../protocol/events.js"
import type { UserId } from "../../../protocol/ids.js"
import { has, Permission } from "../../../protocol/permissions.js"
import { VoxConfig } from "../../../runtime/config/VoxConfig.js"
import { dieOnStorageError } from "../../../runtime/db/storageErrors.js"
import type { AccessView } from "../access/AccessCache.js"
import { CommunityRepo } from "../CommunityRepo.js"
import type { CommunityContext } from "../CommunityTx.js"
import { ADMIN_ROLE_NAME, ADMIN_ROLE_POSITION } from "../defaults.js"
import { requireAnAdministrator } from "../hierarchy.js"
import { makeAdmission } from "../invites/admission.js"
import { MemberRepo } from "../members/MemberRepo.js"
import type { AccountRpcs } from "./rpcs.js"

const everyone = { _tag: "server" } as const

export const accountHandlers = (ctx: CommunityContext) =>
  Effect.gen(function* () {
    const config = yield* VoxConfig
    const repo = yield* CommunityRepo
    const members = yield* MemberRepo
    const admission = yield* makeAdmission

    const standing = (view: AccessView, userId: UserId) =>
      view.standing(userId).pipe(
        Effect.flatMap(Option.match({ onNone: () => Effect.fail(new UserNotFound()), onSome: Effect.succeed }))
      )

    const serverInfo = Effect.all([repo.server, members.count]).pipe(
      Effect.map(([s, count]) => ({ name: s.name, icon: s.icon, description: s.description, member_count: count }))
    )

    /** The Admin role (ADMINISTRATOR), created the first time someone needs it. */
    const adminRole = Effect.gen(function* () {
      const settings = yield* repo.server
      if (settings.admin_role_id !== null) return settings.admin_role_id
      const id = yield* repo.createRole({
        name: ADMIN_ROLE_NAME,
        permissions: Permission.ADMINISTRATOR,
        position: ADMIN_ROLE_POSITION
      })
      yield* repo.setAdminRole(id)
      return id
    })

    return {
      Register: ({ payload }) =>
        ctx.write((tx) =>
          Effect.gen(function* () {
            const now = Date.now()
            // The first account of a fresh server is its owner: always allowed, whatever the mode.
            // `vox admin create-user` is the operator's own tool: no mode, no limit.
            const gated = payload.via === "api" && (yield* repo.server).owner_id !== null
            const mode = config.auth.registration
            if (gated && mode === "closed") return yield* new RegistrationClosed()
            const invite = gated
              ? yield* admission.check({ code: payload.invite_code, required: mode === "invite", now })
              : undefined
            if (Option.isSome(yield* repo.findAccountByKey(payload.username.toLowerCase()))) {
              return yield* new UsernameTaken()
            }
            const userId = yield* repo.insertAccount({
              username: payload.username,
              displayName: payload.display_name ?? payload.username,
              passwordHash: payload.password_hash,
              now
            })
            yield* members.insert(userId, now)
            const settings = yield* repo.server
            if (settings.owner_id === null) {
              const roleId = yield* adminRole
              yield* repo.assignRole(userId, roleId)
              yield* repo.setOwner(userId, roleId)
            } else if (payload.admin) {
              const roleId = yield* adminRole
              yield* repo.assignRole(userId, roleId)
              yield* tx.audit({ event_type: "role.assign", actor_id: null, target_id: userId, metadata: { role_id: roleId } })
            }
            if (invite !== undefined) yield* admission.spend(tx, invite, userId)
            const member = yield* members.find(userId)
            if (Option.isSome(member)) yield* tx.emit(MemberJoin, member.value, everyone)
            return userId
          })
        ).pipe(
          Effect.flatMap((userId) => Effect.flatMap(ctx.access.view, (view) => standing(view, userId))),
          Effect.catchTag("UserNotFound", Effect.die),
          dieOnStorageError
        ),

      GetServer: () => Rpc.fork(serverInfo.pipe(dieOnStorageError)),

      UpdateServer: ({ payload }) =>
        ctx.write((tx) =>
          Effect.gen(function* () {
            yield* repo.updateServer(payload.patch)
            const info = yield* serverInfo
            yield* tx.emit(ServerUpdate, info, everyone)
            yield* tx.audit({ event_type: "server.update", actor_id: payload.actor, metadata: { ...payload.patch } })
            return info
          })
        ).pipe(dieOnStorageError),

      SetAdmin: ({ payload }) =>
        ctx.write((tx) =>
          Effect.gen(function* () {
            yield* standing(yield* ctx.access.fresh, payload.user_id)
            const roleId = yield* adminRole
            if (payload.admin) {
              yield* repo.assignRole(payload.user_id, roleId)
            } else {
              yield* repo.revokeRole(payload.user_id, roleId)
              yield* requireAnAdministrator
            }
            yield* tx.audit({
              event_type: payload.admin ? "role.assign" : "role.revoke",
              actor_id: null,
              target_id: payload.user_id,
              metadata: { role_id: roleId }
            })
          })
        ).pipe(
          Effect.zipRight(Effect.flatMap(ctx.access.view, (view) => standing(view, payload.user_id))),
          dieOnStorageError
        ),

      SetSuspended: ({ payload }) =>
        ctx.write((tx) =>
          Effect.gen(function* () {
            yield* standing(yield* ctx.access.fresh, payload.user_id)
            yield* repo.setSuspended(payload.user_id, payload.suspended)
            yield* tx.audit({
              event_type: payload.suspended ? "member.suspend" : "member.unsuspend",
              actor_id: null,
              target_id: payload.user_id
            })
          })
        ).pipe(
          Effect.zipRight(Effect.flatMap(ctx.access.view, (view) => standing(view, payload.user_id))),
          dieOnStorageError
        ),

      ListAccounts: () =>
        Rpc.fork(Effect.gen(function* () {
          const view = yield* ctx.access.view
          const rows = yield* repo.accounts
          return yield* Effect.forEach(rows, (row) =>
            Effect.map(standing(view, row.id), (s) => ({
              user_id: row.id,
              username: row.username,
              display_name: row.display_name,
              admin: s.member && has(s.permissions, Permission.ADMINISTRATOR),
              owner: s.owner,
              suspended: s.suspended,
              created_at: row.created_at
            })))
        }).pipe(Effect.catchTag("UserNotFound", Effect.die), dieOnStorageError))
    } satisfies Entity.HandlersFrom<(typeof AccountRpcs)[number]>
  })
