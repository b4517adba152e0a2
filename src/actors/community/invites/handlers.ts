// Behaviour of invites and joining. Creating, deleting and using an invite are writes (one at a time,
// in the entity's mailbox), so an invite's last use and the last free seat go to exactly one person.
import type { Entity } from "@effect/cluster"
import { Rpc } from "@effect/rpc"
import { Effect, Option } from "effect"
import * as Crypto from "node:crypto"
import { Banned, Forbidden, InviteInvalid, LimitReached, SpaceNotFound } from "../../../protocol/errors.js"
import { InviteCreate, InviteDelete, MemberJoin } from "../../../protocol/events.js"
import { encodeCursor } from "../../../protocol/pagination.js"
import { has, NO_PERMISSIONS, Permission } from "../../../protocol/permissions.js"
import { VoxConfig } from "../../../runtime/config/VoxConfig.js"
import { dieOnStorageError } from "../../../runtime/db/storageErrors.js"
import { CommunityRepo } from "../CommunityRepo.js"
import type { CommunityContext } from "../CommunityTx.js"
import { readLimits } from "../limits/limits.js"
import { MemberRepo } from "../members/MemberRepo.js"
import { makeAdmission } from "./admission.js"
import { type InviteRow, makeInviteRepo, toInvite } from "./InviteRepo.js"
import type { InviteRpcs } from "./rpcs.js"

const BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
const CODE_LENGTH = 10

/** 10 base62 characters from the system's CSPRNG; bytes of 248 and above are dropped so none is likelier. */
const newCode = Effect.sync(() => {
  let code = ""
  while (code.length < CODE_LENGTH) {
    for (const byte of Crypto.randomBytes(16)) {
      if (byte < 248 && code.length < CODE_LENGTH) code += BASE62[byte % 62]
    }
  }
  return code
})

/** Who hears about invites: the members who could make one. */
const inviters = { _tag: "permission", permission: Permission.CREATE_INVITES } as const
const everyone = { _tag: "server" } as const

export const inviteHandlers = (ctx: CommunityContext) =>
  Effect.gen(function* () {
    const config = yield* VoxConfig
    const repo = yield* CommunityRepo
    const members = yield* MemberRepo
    const invites = yield* makeInviteRepo
    const admission = yield* makeAdmission

    /** A code no stored invite has (a collision in 62^10 is unlikely, not impossible). */
    const freshCode = Effect.gen(function* () {
      for (;;) {
        const code = yield* newCode
        if (Option.isNone(yield* invites.find(code))) return code
      }
    })

    return {
      CreateInvite: ({ payload: { actor, invite: input } }) =>
        ctx.write((tx) =>
          Effect.gen(function* () {
            const now = Date.now()
            if (input.feed_id !== undefined) {
              const view = yield* ctx.access.fresh
              if (!view.spaceExists("feed", input.feed_id)) return yield* new SpaceNotFound()
              // An invite may only lead somewhere its creator can see.
              const standing = yield* view.standing(actor)
              const inFeed = Option.isSome(standing)
                ? Option.getOrElse(view.permissionsIn(standing.value, { type: "feed", id: input.feed_id }), () => NO_PERMISSIONS)
                : NO_PERMISSIONS
              if (!has(inFeed, Permission.VIEW_SPACE)) {
                return yield* new Forbidden({ message: "You need the VIEW_SPACE permission in this feed.", missing_permission: "VIEW_SPACE" })
              }
            }
            const limits = yield* readLimits
            if ((yield* invites.countUsable(now)) >= limits.max_invites) {
              return yield* new LimitReached({ limit: "max_invites", max: limits.max_invites })
            }
            const row: InviteRow = {
              code: yield* freshCode,
              creator_id: actor,
              feed_id: input.feed_id ?? null,
              // 0 and absent both mean unlimited / never
              max_uses: input.max_uses ? input.max_uses : null,
              uses: 0,
              expires_at: input.max_age ? now + input.max_age * 1000 : null,
              created_at: now
            }
            yield* invites.insert(row)
            const invite = toInvite(row)
            yield* tx.emit(InviteCreate, invite, inviters)
            yield* tx.audit({
              event_type: "invite.create",
              actor_id: actor,
              metadata: { code: row.code, max_uses: row.max_uses, max_age: input.max_age ? input.max_age : null, feed_id: row.feed_id }
            })
            return invite
          })
        ).pipe(dieOnStorageError),

      ListInvites: ({ payload }) =>
        Rpc.fork(Effect.gen(function* () {
          // one more than asked tells whether another page follows
          const rows = yield* invites.page(payload.after, payload.limit + 1)
          const items = rows.slice(0, payload.limit)
          const last = items[items.length - 1]
          return {
            items: items.map(toInvite),
            cursor: rows.length > payload.limit && last !== undefined
              ? encodeCursor({ created_at: last.created_at, code: last.code })
              : null
          }
        }).pipe(dieOnStorageError)),

      DeleteInvite: ({ payload: { actor, code } }) =>
        ctx.write((tx) =>
          Effect.gen(function* () {
            const found = yield* invites.find(code)
            if (Option.isNone(found)) return yield* new InviteInvalid()
            if (found.value.creator_id !== actor) {
              const standing = yield* (yield* ctx.access.fresh).standing(actor)
              const allowed = Option.isSome(standing) && standing.value.member &&
                has(standing.value.permissions, Permission.MANAGE_SERVER)
              if (!allowed) {
                return yield* new Forbidden({
                  message: "Only its creator or a member with MANAGE_SERVER can delete this invite.",
                  missing_permission: "MANAGE_SERVER"
                })
              }
            }
            yield* invites.remove(code)
            yield* tx.emit(InviteDelete, { code }, inviters)
            yield* tx.audit({ event_type: "invite.delete", actor_id: actor, metadata: { code } })
          })
        ).pipe(dieOnStorageError),

      ResolveInvite: ({ payload }) =>
        Rpc.fork(Effect.gen(function* () {
          const invite = yield* admission.usable(payload.code, Date.now())
          const [server, count] = yield* Effect.all([repo.server, members.count])
          return {
            code: invite.code,
            server_name: server.name,
            server_icon: server.icon,
            member_count: count,
            feed_id: invite.feed_id,
            expires_at: toInvite(invite).expires_at
          }
        }).pipe(dieOnStorageError)),

      JoinServer: ({ payload: { user_id, invite_code } }) =>
        ctx.write((tx) =>
          Effect.gen(function* () {
            const standing = yield* (yield* ctx.access.fresh).standing(user_id)
            if (Option.isNone(standing)) return yield* Effect.dieMessage(`no account ${user_id} behind a live session`)
            // A ban outlasts the membership: no invite, and no open registration, lets the account back in.
            if (standing.value.banned) return yield* new Banned()
            if (standing.value.member) {
              const current = yield* members.find(user_id)
              if (Option.isSome(current)) return current.value
            }
            const now = Date.now()
            const invite = yield* admission.check({
              code: invite_code,
              required: config.auth.registration !== "open",
              now
            })
            yield* members.insert(user_id, now)
            if (invite !== undefined) yield* admission.spend(tx, invite, user_id)
            const member = yield* members.find(user_id)
            if (Option.isNone(member)) return yield* Effect.dieMessage(`member ${user_id} vanished in its own join`)
            yield* tx.emit(MemberJoin, member.value, everyone)
            return member.value
          })
        ).pipe(dieOnStorageError)
    } satisfies Entity.HandlersFrom<(typeof InviteRpcs)[number]>
  })
