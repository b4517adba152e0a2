// Typing indicators (seed 002 §4 op 8): a TYPING_START to everyone who can see the feed, from someone
// allowed to post there; in a DM, to its other participants, from a participant. Typing is activity:
// nobody on either side of a block with the typer sees it (seed 002 §12). There is no "stop":
// receivers expire an indicator after ~10 s and clients
// repeat it every ~8 s, so one announcement per user and feed every few seconds is all that is sent;
// repeats in between are absorbed here.
import { Effect } from "effect"
import { COMMUNITY_ID, Community } from "../../actors/community/Community.js"
import { makeDmRepo } from "../../actors/dm/DmRepo.js"
import { makeRelationshipRepo } from "../../actors/relationships/RelationshipRepo.js"
import { TypingStartEvent } from "../../protocol/events.js"
import type { Typing as TypingRequest } from "../../protocol/gateway.js"
import type { DmId, UserId } from "../../protocol/ids.js"
import { Permission } from "../../protocol/permissions.js"
import { dieOnStorageError } from "../db/storageErrors.js"
import { Events } from "../events/Events.js"

/** The shortest time between two announcements of the same user typing in the same place. */
export const TYPING_REPEAT_MS = 5_000

export class Typing extends Effect.Service<Typing>()("vox/gateway/Typing", {
  effect: Effect.gen(function* () {
    const events = yield* Events
    const community = (yield* Community.client)(COMMUNITY_ID)
    const dms = yield* makeDmRepo
    const relationships = yield* makeRelationshipRepo
    const lastSent = new Map<string, number>()

    const recently = (key: string, now: number) => {
      const last = lastSent.get(key)
      if (last !== undefined && now - last < TYPING_REPEAT_MS) return true
      // forget stale entries now and then, so the map holds only current typers
      if (lastSent.size > 10_000) for (const [k, t] of lastSent) if (now - t >= TYPING_REPEAT_MS) lastSent.delete(k)
      lastSent.set(key, now)
      return false
    }

    /** In a DM: to its other participants, from a participant. */
    const startInDm = (userId: UserId, dmId: DmId) =>
      Effect.gen(function* () {
        const participants = yield* dms.participantIds(dmId)
        if (!participants.includes(userId)) return false
        const now = Date.now()
        if (recently(`${userId}:dm:${dmId}`, now)) return true
        const hidden = yield* relationships.blockedWith(userId)
        const others = participants.filter((id) => id !== userId && !hidden.includes(id))
        if (others.length === 0) return true
        yield* events.transact((emit) =>
          emit(TypingStartEvent, { user_id: userId, dm_id: dmId, timestamp: now }, { _tag: "users", user_ids: others })
        )
        return true
      })

    /** Announces that `userId` is typing; false when they may not post there (nothing is sent). */
    const start = (userId: UserId, request: TypingRequest) =>
      Effect.gen(function* () {
        if (!("feed_id" in request)) return yield* startInDm(userId, request.dm_id)
        const allowed = yield* community.Authorize({
          user_id: userId,
          permission: "SEND_MESSAGES",
          space: { type: "feed", id: request.feed_id }
        }).pipe(
          Effect.as(true),
          Effect.catchTags({
            Forbidden: () => Effect.succeed(false),
            Banned: () => Effect.succeed(false),
            SpaceNotFound: () => Effect.succeed(false)
          }),
          Effect.orDie
        )
        if (!allowed) return false
        const now = Date.now()
        if (recently(`${userId}:feed:${request.feed_id}`, now)) return true
        const hidden = yield* relationships.blockedWith(userId)
        yield* events.transact((emit) =>
          emit(TypingStartEvent, { user_id: userId, feed_id: request.feed_id, timestamp: now }, {
            _tag: "space",
            space_type: "feed",
            space_id: request.feed_id,
            permission: Permission.VIEW_SPACE,
            ...(hidden.length === 0 ? {} : { except: hidden })
          })
        )
        return true
      }).pipe(dieOnStorageError)

    return { start } as const
  })
}) {}
