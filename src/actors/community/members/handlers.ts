// Behaviour of members and bans. Every write re-reads the actor's standing inside its transaction
// (the HTTP check ran against the cache a moment earlier; a role change committed in between counts),
// applies the hierarchy to the target, and ends with the last-administrator rule where someone can
// lose a role by leaving. Kicks and bans are steps shared with report resolution (moderation.ts).
import type { Entity } from "@effect/cluster"
import { Rpc } from "@effect/rpc"
import { Effect, Option } from "effect"
import { Forbidden, UserNotFound } from "../../../protocol/errors.js"
import { MemberLeave, MemberUnban, MemberUpdate } from "../../../protocol/events.js"
import type { UserId } from "../../../protocol/ids.js"
import { encodeCursor } from "../../../protocol/pagination.js"
import { Sessions } from "../../../runtime/auth/Sessions.js"
import { dieOnStorageError } from "../../../runtime/db/storageErrors.js"
import type { CommunityContext } from "../CommunityTx.js"
import { requireAnAdministrator, requireOutranksMember } from "../hierarchy.js"
import { makeBanRepo } from "./BanRepo.js"
import { MemberRepo } from "./MemberRepo.js"
import { actorIn, everyone, makeModeration, memberOf } from "./moderation.js"
import type { MemberRpcs } from "./rpcs.js"

/** Fetches `limit + 1` rows so that the last page says so (cursor null) without an extra request. */
const pageOf = <A extends { readonly user_id: number }>(rows: ReadonlyArray<A>, limit: number) => {
  const items = rows.slice(0, limit)
  const last = items[items.length - 1]
  return { items, cursor: rows.length > limit && last !== undefined ? encodeCursor({ id: last.user_id }) : null }
}

export const memberHandlers = (ctx: CommunityContext) =>
  Effect.gen(function* () {
    const members = yield* MemberRepo
    const bans = yield* makeBanRepo
    const sessions = yield* Sessions
    const moderation = yield* makeModeration

    const wireMember = (userId: UserId) =>
      members.find(userId).pipe(
        Effect.flatMap(Option.match({ onNone: () => Effect.fail(new UserNotFound()), onSome: Effect.succeed }))
      )

    return {
      ListMembers: ({ payload }) =>
        Rpc.fork(members.page(payload.after, payload.limit + 1).pipe(
          Effect.map((rows) => pageOf(rows, payload.limit)),
          dieOnStorageError
        )),

      GetMember: ({ payload }) => Rpc.fork(wireMember(payload.user_id).pipe(dieOnStorageError)),

      LeaveServer: ({ payload }) =>
        ctx.write((tx) =>
          Effect.gen(function* () {
            const self = yield* actorIn(yield* ctx.access.fresh, payload.actor)
            if (self.owner) return yield* new Forbidden({ message: "The owner cannot leave the server." })
            yield* members.remove(self.user_id)
            yield* tx.emit(MemberLeave, { user_id: self.user_id }, everyone)
            yield* requireAnAdministrator
          })
        ).pipe(dieOnStorageError),

      SetNickname: ({ payload }) =>
        ctx.write((tx) =>
          Effect.gen(function* () {
            const view = yield* ctx.access.fresh
            // One's own nickname is CHANGE_NICKNAME; anyone else's MANAGE_NICKNAMES and the hierarchy
            // (which also keeps the owner's nickname the owner's own).
            const own = payload.user_id === payload.actor
            const actor = yield* actorIn(view, payload.actor, own ? "CHANGE_NICKNAME" : "MANAGE_NICKNAMES")
            const target = yield* memberOf(view, payload.user_id)
            if (!own) yield* requireOutranksMember(actor, target)
            yield* members.setNickname(target.user_id, payload.nickname)
            const member = yield* wireMember(target.user_id)
            yield* tx.emit(MemberUpdate, member, everyone)
            if (!own) {
              yield* tx.audit({
                event_type: "member.update",
                actor_id: actor.user_id,
                target_id: target.user_id,
                metadata: { nickname: payload.nickname }
              })
            }
            return member
          })
        ).pipe(dieOnStorageError),

      KickMember: ({ payload }) =>
        ctx.write((tx) => Effect.flatMap(ctx.access.fresh, (view) => moderation.kick(tx, view, payload))).pipe(
          dieOnStorageError
        ),

      BanMember: ({ payload }) =>
        ctx.write((tx) => Effect.flatMap(ctx.access.fresh, (view) => moderation.ban(tx, view, payload))).pipe(
          Effect.flatMap((ended) => sessions.announce(ended.revocation)),
          dieOnStorageError
        ),

      UnbanMember: ({ payload }) =>
        ctx.write((tx) =>
          Effect.gen(function* () {
            const actor = yield* actorIn(yield* ctx.access.fresh, payload.actor, "BAN_MEMBERS")
            if (Option.isNone(yield* bans.find(payload.user_id))) return yield* new UserNotFound()
            // Unbanning only lifts the ban: a former member comes back by joining again.
            yield* bans.remove(payload.user_id)
            yield* tx.emit(MemberUnban, { user_id: payload.user_id }, everyone)
            yield* tx.audit({ event_type: "member.unban", actor_id: actor.user_id, target_id: payload.user_id })
          })
        ).pipe(dieOnStorageError),

      ListBans: ({ payload }) =>
        Rpc.fork(bans.page(payload.after, payload.limit + 1).pipe(
          Effect.map((rows) => pageOf(rows, payload.limit)),
          dieOnStorageError
        ))
    } satisfies Entity.HandlersFrom<(typeof MemberRpcs)[number]>
  })
