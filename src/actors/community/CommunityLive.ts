// Behaviour of the Community entity. It runs one message at a time, so "is there an owner yet?" and
// "is this the last administrator?" are answered and acted on without races.
import { Effect, Option } from "effect"
import { Forbidden, UsernameTaken, UserNotFound } from "../../protocol/errors.js"
import { MemberJoin, ServerUpdate } from "../../protocol/events.js"
import type { UserId } from "../../protocol/ids.js"
import { Permission, resolvePermissions } from "../../protocol/permissions.js"
import { dieOnStorageError } from "../../runtime/db/storageErrors.js"
import { Events } from "../../runtime/events/Events.js"
import { Community, type Membership } from "./Community.js"
import { CommunityRepo } from "./CommunityRepo.js"
import { ADMIN_ROLE_NAME } from "./defaults.js"

const server = { _tag: "server" } as const

export const CommunityLive = Community.toLayer(
  Effect.gen(function* () {
    const repo = yield* CommunityRepo
    const events = yield* Events

    const membership = (userId: UserId) =>
      Effect.gen(function* () {
        const account = yield* repo.account(userId)
        if (Option.isNone(account)) return yield* new UserNotFound()
        const [everyone, roles, settings] = yield* Effect.all([repo.everyoneRole, repo.rolesOf(userId), repo.server])
        const result: Membership = {
          user_id: userId,
          roles: roles.map((r) => r.id),
          permissions: resolvePermissions({ everyone: everyone.permissions, roles: roles.map((r) => r.permissions) }),
          owner: settings.owner_id === userId,
          suspended: account.value.suspended
        }
        return result
      })

    const serverInfo = Effect.all([repo.server, repo.memberCount]).pipe(
      Effect.map(([s, count]) => ({ name: s.name, icon: s.icon, description: s.description, member_count: count }))
    )

    /** The Admin role (ADMINISTRATOR), created the first time someone needs it. */
    const adminRole = Effect.gen(function* () {
      const settings = yield* repo.server
      if (settings.admin_role_id !== null) return settings.admin_role_id
      const id = yield* repo.createRole({
        name: ADMIN_ROLE_NAME,
        permissions: Permission.ADMINISTRATOR,
        position: (yield* repo.highestPosition) + 1
      })
      yield* repo.setAdminRole(id)
      return id
    })

    return Community.of({
      Register: ({ payload }) =>
        events.transact((emit) =>
          Effect.gen(function* () {
            if (Option.isSome(yield* repo.findAccountByKey(payload.username.toLowerCase()))) {
              return yield* new UsernameTaken()
            }
            const now = Date.now()
            const userId = yield* repo.insertAccount({
              username: payload.username,
              displayName: payload.display_name ?? payload.username,
              passwordHash: payload.password_hash,
              now
            })
            const settings = yield* repo.server
            if (settings.owner_id === null) {
              const roleId = yield* adminRole
              yield* repo.assignRole(userId, roleId)
              yield* repo.setOwner(userId, roleId)
            } else if (payload.admin) {
              yield* repo.assignRole(userId, yield* adminRole)
            }
            const member = yield* membership(userId)
            yield* emit(MemberJoin, {
              user_id: userId,
              display_name: payload.display_name ?? payload.username,
              roles: member.roles,
              joined_at: new Date(now).toISOString()
            }, server)
            return member
          })
        ).pipe(Effect.catchTag("UserNotFound", Effect.die), dieOnStorageError),

      Member: ({ payload }) => membership(payload.user_id).pipe(dieOnStorageError),

      GetServer: () => serverInfo.pipe(dieOnStorageError),

      UpdateServer: ({ payload }) =>
        events.transact((emit) =>
          Effect.gen(function* () {
            yield* repo.updateServer(payload.patch)
            const info = yield* serverInfo
            yield* emit(ServerUpdate, info, server)
            return info
          })
        ).pipe(dieOnStorageError),

      SetAdmin: ({ payload }) =>
        events.transact(() =>
          Effect.gen(function* () {
            yield* membership(payload.user_id)
            const roleId = yield* adminRole
            if (payload.admin) {
              yield* repo.assignRole(payload.user_id, roleId)
            } else {
              const holders = yield* repo.holdersOf(roleId)
              if (holders.length === 1 && holders[0] === payload.user_id) {
                return yield* new Forbidden({ message: "The last administrator cannot be removed." })
              }
              yield* repo.revokeRole(payload.user_id, roleId)
            }
            return payload.user_id
          })
        ).pipe(Effect.flatMap(membership), dieOnStorageError),

      SetSuspended: ({ payload }) =>
        Effect.gen(function* () {
          yield* membership(payload.user_id)
          yield* repo.setSuspended(payload.user_id, payload.suspended)
          return yield* membership(payload.user_id)
        }).pipe(dieOnStorageError),

      ListAccounts: () =>
        Effect.gen(function* () {
          const [rows, settings] = yield* Effect.all([repo.accounts, repo.server])
          return yield* Effect.forEach(rows, (row) =>
            repo.rolesOf(row.id).pipe(
              Effect.map((roles) => ({
                user_id: row.id,
                username: row.username,
                display_name: row.display_name,
                admin: roles.some((r) => (r.permissions & Permission.ADMINISTRATOR) !== 0n),
                owner: settings.owner_id === row.id,
                suspended: row.suspended,
                created_at: row.created_at
              }))
            ))
        }).pipe(dieOnStorageError)
    })
  })
)
