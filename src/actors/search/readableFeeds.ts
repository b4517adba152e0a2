// Which feeds a searcher may read: VIEW_SPACE and READ_HISTORY in the feed, as the Community entity
// resolves them (seed 002 §7, overrides included). Search adds no permission logic of its own.
import { Effect } from "effect"
import { COMMUNITY_ID, Community } from "../community/Community.js"
import { Forbidden } from "../../protocol/errors.js"
import type { FeedId, UserId } from "../../protocol/ids.js"
import { has, Permission } from "../../protocol/permissions.js"

/**
 * Fails FORBIDDEN naming the first permission the user lacks in the feed (VIEW_SPACE, then
 * READ_HISTORY), or SPACE_NOT_FOUND. One Authorize call answers both: it checks VIEW_SPACE and
 * returns the user's permissions in the feed, which must also hold READ_HISTORY.
 */
export const authorizeRead = (userId: UserId, feedId: number) =>
  Effect.gen(function* () {
    const community = (yield* Community.client)(COMMUNITY_ID)
    const member = yield* community.Authorize({
      user_id: userId,
      permission: "VIEW_SPACE",
      space: { type: "feed", id: feedId }
    })
    if (!has(member.permissions, Permission.READ_HISTORY)) {
      return yield* new Forbidden({
        message: "You need the READ_HISTORY permission in this feed.",
        missing_permission: "READ_HISTORY"
      })
    }
  })

/**
 * The feeds `userId` may search: `only` if given (failing as `authorizeRead` does when they may not
 * read it), else every feed they may read, as the permission cache answers now.
 */
export const readableFeeds = (userId: UserId, only: FeedId | undefined) =>
  Effect.gen(function* () {
    if (only !== undefined) {
      yield* authorizeRead(userId, only)
      return [only as number]
    }
    // Every readable feed in one question, answered from the Community entity's permission cache.
    const community = (yield* Community.client)(COMMUNITY_ID)
    return yield* community.SpacesWith({
      user_id: userId,
      space_type: "feed",
      permissions: ["VIEW_SPACE", "READ_HISTORY"]
    })
  })
