// Kicking and banning, as steps of a Community write: the member endpoints and the resolution of a
// report (reports/) carry them out the same way, with the same checks, events and audit entries.
// Each step re-reads the actor's standing in the write's view (the HTTP check ran against the cache a
// moment earlier; a role change committed in between counts), applies the hierarchy to the target, and
// ends with the last-administrator rule.
import { SqlClient } from "@effect/sql"
import { Effect, Option, Schema } from "effect"
import { Forbidden, UserNotFound } from "../../../protocol/errors.js"
import { MemberBan, MemberLeave, MessageBulkDelete } from "../../../protocol/events.js"
import { FeedId, type UserId } from "../../../protocol/ids.js"
import { Permission, type PermissionName } from "../../../protocol/permissions.js"
import { type Snowflake, SnowflakeFromString } from "../../../protocol/snowflake.js"
import { Sessions } from "../../../runtime/auth/Sessions.js"
import { decodeRows, IntColumn } from "../../../runtime/db/columns.js"
import type { AccessView } from "../access/AccessCache.js"
import { authorize } from "../access/handlers.js"
import type { Tx } from "../CommunityTx.js"
import { requireAnAdministrator, requireOutranksMember } from "../hierarchy.js"
import { makeBanRepo } from "./BanRepo.js"
import { MemberRepo } from "./MemberRepo.js"

export const everyone = { _tag: "server" } as const

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

/** The actor, still a member holding `permission` as this transaction sees it. */
export const actorIn = (view: AccessView, actor: UserId, permission?: PermissionName) =>
  authorize(view, { user_id: actor, permission }).pipe(Effect.catchTag("SpaceNotFound", Effect.die))

/** An account's standing; USER_NOT_FOUND when there is no such account. */
export const accountOf = (view: AccessView, userId: UserId) =>
  view.standing(userId).pipe(
    Effect.flatMap(Option.match({ onNone: () => Effect.fail(new UserNotFound()), onSome: Effect.succeed }))
  )

/** A member's standing; USER_NOT_FOUND for an unknown account and for one that is not a member. */
export const memberOf = (view: AccessView, userId: UserId) =>
  Effect.filterOrFail(accountOf(view, userId), (s) => s.member, () => new UserNotFound())

export interface KickStep {
  readonly actor: UserId
  readonly user_id: UserId
  readonly reason?: string | undefined
  /** Added to the audit entry's metadata (the report that led to it). */
  readonly context?: Record<string, unknown> | undefined
}

export interface BanStep extends KickStep {
  readonly delete_msg_days: number
}

export const makeModeration = Effect.gen(function* () {
  const members = yield* MemberRepo
  const bans = yield* makeBanRepo
  const sessions = yield* Sessions

  /** Removes a member (KICK_MEMBERS, above them in the hierarchy); audited as `member.kick`. */
  const kick = (tx: Tx, view: AccessView, input: KickStep) =>
    Effect.gen(function* () {
      const actor = yield* actorIn(view, input.actor, "KICK_MEMBERS")
      const target = yield* memberOf(view, input.user_id)
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
        metadata: { reason: input.reason, ...input.context }
      })
      yield* requireAnAdministrator
    })

  /**
   * Bans an account, member or not (BAN_MEMBERS, above them in the hierarchy when a member); audited
   * as `member.ban`. Ends the user's sessions in the write; the caller announces the returned
   * revocation after the commit (`sessions.announce`).
   */
  const ban = (tx: Tx, view: AccessView, input: BanStep) =>
    Effect.gen(function* () {
      const actor = yield* actorIn(view, input.actor, "BAN_MEMBERS")
      // Any account can be banned, member or not (a pre-emptive ban keeps it from ever joining).
      const target = yield* accountOf(view, input.user_id)
      if (target.user_id === actor.user_id) return yield* new Forbidden({ message: "You cannot ban yourself." })
      if (target.owner) return yield* new Forbidden({ message: "The owner cannot be banned." })
      if (target.member) yield* requireOutranksMember(actor, target)
      const existing = yield* bans.find(target.user_id)
      const record = {
        userId: target.user_id,
        reason: input.reason ?? null,
        deleteMsgDays: input.delete_msg_days,
        bannedBy: actor.user_id,
        now: Date.now()
      }
      // Banning again is not a second ban: it restates the reason, and announces nothing new.
      if (Option.isSome(existing)) yield* bans.update(record)
      else yield* bans.insert(record)
      if (Option.isNone(existing)) yield* tx.emit(MemberBan, { user_id: target.user_id }, everyone)
      // The banned user's recent messages go in the same transaction as the ban: a client told
      // "banned" never sees them come back. Deleting rows leaves every feed's order intact.
      if (input.delete_msg_days > 0) {
        const purged = yield* purgeRecentMessages(target.user_id, record.now - input.delete_msg_days * 86_400_000)
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
        metadata: { reason: input.reason, delete_msg_days: input.delete_msg_days, ...input.context }
      })
      yield* requireAnAdministrator
      // The ban signs the user out everywhere, in its own transaction; the gateway hears it after the commit.
      return yield* sessions.end(target.user_id, { all: true })
    })

  return { kick, ban } as const
})
