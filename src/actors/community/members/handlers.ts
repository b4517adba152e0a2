// Behaviour of members and bans. Every write re-reads the actor's standing inside its transaction
// (the HTTP check ran against the cache a moment earlier; a role change committed in between counts),
// applies the hierarchy to the target, and ends with the last-administrator rule where someone can
// lose a role by leaving.
import type { Entity } from "@effect/cluster"
import { Rpc } from "@effect/rpc"
import { SqlClient } from "@effect/sql"
import { Effect, Option, Schema } from "effect"
import { Forbidden, UserNotFound } from "../../../protocol/errors.js"
import { MemberBan, MemberLeave, MemberUnban, MemberUpdate, MessageBulkDelete } from "../../../protocol/events.js"
import { FeedId, type UserId } from "../../../protocol/ids.js"
import { encodeCursor } from "../../../protocol/pagination.js"
import { Permission, type PermissionName } from "../../../protocol/permissions.js"
import { type Snowflake, SnowflakeFromString } from "../../../protocol/snowflake.js"
import { decodeRows, IntColumn } from "../../../runtime/db/columns.js"
import { Sessions } from "../../../runtime/auth/Sessions.js"
import { dieOnStorageError } from "../../../runtime/db/storageErrors.js"
import type { AccessView } from "../access/AccessCache.js"
import { authorize } from "../access/handlers.js"
import type { CommunityContext } from "../CommunityTx.js"
import { requireAnAdministrator, requireOutranksMember } from "../hierarchy.js"
import { makeBanRepo } from "./BanRepo.js"
import { MemberRepo } from "./MemberRepo.js"
import type { MemberRpcs } from "./rpcs.js"

const everyone = { _tag: "server" } as const

const feedAudience = (feedId: FeedId) =>
  ({ _tag: "space", space_type: "feed", space_id: feedId, permission: Permission.VIEW_SPACE }) as const

const PurgedRow = Schema.Struct({ id: SnowflakeFromString, feed_id: Schema.compose(IntColumn, FeedId) })

/** Deletes a user's messages written since `sinceMs`; their ids per feed, oldest first. */
const purgeRecentMessages = (userId: UserId, sinceMs: number) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    // Ids are read as text: a snowflake does not survive SQLite's numbers.
    const rows = yield* sql`SELECT CAST(id AS TEXT) AS id, feed_id FROM messages
      WHERE author_id = ${userId} AND created_at >= ${sinceMs} ORDER BY id`.pipe(Effect.flatMap(decodeRows(PurgedRow)))
    yield* sql`DELETE FROM messages WHERE author_id = ${userId} AND created_at >= ${sinceMs}`
    const byFeed = new Map<FeedId, Array<Snowflake>>()
    for (const row of rows) byFeed.set(row.feed_id, [...(byFeed.get(row.feed_id) ?? []), row.id])
    return byFeed
  })

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

    /** The actor, still a member holding `permission` as this transaction sees it. */
    const actorIn = (view: AccessView, actor: UserId, permission?: PermissionName) =>
      authorize(view, { user_id: actor, permission }).pipe(Effect.catchTag("SpaceNotFound", Effect.die))

    /** An account's standing; USER_NOT_FOUND when there is no such account. */
    const accountOf = (view: AccessView, userId: UserId) =>
      view.standing(userId).pipe(
        Effect.flatMap(Option.match({ onNone: () => Effect.fail(new UserNotFound()), onSome: Effect.succeed }))
      )

    /** A member's standing; USER_NOT_FOUND for an unknown account and for one that is not a member. */
    const memberOf = (view: AccessView, userId: UserId) =>
      Effect.filterOrFail(accountOf(view, userId), (s) => s.member, () => new UserNotFound())

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
        ctx.write((tx) =>
          Effect.gen(function* () {
            const view = yield* ctx.access.fresh
            const actor = yield* actorIn(view, payload.actor, "KICK_MEMBERS")
            const target = yield* memberOf(view, payload.user_id)
            if (target.user_id === actor.user_id) {
              return yield* new Forbidden({ message: "You cannot kick yourself; leave the server instead." })
            }
            if (target.owner) return yield* new Forbidden({ message: "The owner cannot be kicked." })
            yield* requireOutranksMember(actor, target)
            yield* members.remove(target.user_id)
            yield* tx.emit(MemberLeave, { user_id: target.user_id }, everyone)
            yield* tx.audit({
              event_type: "member.kick",
              actor_id: actor.user_id,
              target_id: target.user_id,
              metadata: { reason: payload.reason }
            })
            yield* requireAnAdministrator
          })
        ).pipe(dieOnStorageError),

      BanMember: ({ payload }) =>
        ctx.write((tx) =>
          Effect.gen(function* () {
            const view = yield* ctx.access.fresh
            const actor = yield* actorIn(view, payload.actor, "BAN_MEMBERS")
            // Any account can be banned, member or not (a pre-emptive ban keeps it from ever joining).
            const target = yield* accountOf(view, payload.user_id)
            if (target.user_id === actor.user_id) return yield* new Forbidden({ message: "You cannot ban yourself." })
            if (target.owner) return yield* new Forbidden({ message: "The owner cannot be banned." })
            if (target.member) yield* requireOutranksMember(actor, target)
            const existing = yield* bans.find(target.user_id)
            const ban = {
              userId: target.user_id,
              reason: payload.reason ?? null,
              deleteMsgDays: payload.delete_msg_days,
              bannedBy: actor.user_id,
              now: Date.now()
            }
            // Banning again is not a second ban: it restates the reason, and announces nothing new.
            if (Option.isSome(existing)) yield* bans.update(ban)
            else yield* bans.insert(ban)
            if (Option.isNone(existing)) yield* tx.emit(MemberBan, { user_id: target.user_id }, everyone)
            // The banned user's recent messages go in the same transaction as the ban: a client told
            // "banned" never sees them come back. Deleting rows leaves every feed's order intact.
            const days = payload.delete_msg_days ?? 0
            if (days > 0) {
              const purged = yield* purgeRecentMessages(target.user_id, ban.now - days * 86_400_000)
              for (const [feedId, msgIds] of purged) {
                yield* tx.emit(MessageBulkDelete, { feed_id: feedId, msg_ids: msgIds }, feedAudience(feedId))
              }
            }
            if (target.member) {
              yield* members.remove(target.user_id)
              yield* tx.emit(MemberLeave, { user_id: target.user_id }, everyone)
            }
            yield* tx.audit({
              event_type: "member.ban",
              actor_id: actor.user_id,
              target_id: target.user_id,
              metadata: { reason: payload.reason, delete_msg_days: payload.delete_msg_days }
            })
            yield* requireAnAdministrator
            // The ban signs the user out everywhere, in its own transaction; the gateway hears it after the commit.
            return yield* sessions.end(target.user_id, { all: true })
          })
        ).pipe(Effect.flatMap((ended) => sessions.announce(ended.revocation)), dieOnStorageError),

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
