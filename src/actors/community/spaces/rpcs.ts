// The community's structure: categories, feeds, rooms, their permission overrides, and the layout.
import { Rpc } from "@effect/rpc"
import { Schema } from "effect"
import {
  Category,
  CategoryCreate,
  CategoryPatch,
  Feed,
  FeedCreate,
  FeedPatch,
  Layout,
  OverrideBits,
  OverrideTargetType,
  Room,
  RoomCreate,
  RoomPatch,
  SpaceType
} from "../../../protocol/api/spaces.js"
import {
  CategoryNotFound,
  Forbidden,
  LimitReached,
  RoleHierarchy,
  RoleNotFound,
  SpaceNotFound,
  UserNotFound
} from "../../../protocol/errors.js"
import { CategoryId, FeedId, RoomId, TargetId, UserId } from "../../../protocol/ids.js"

/** What may go wrong when overrides are written: their space, their target, the caller's authority. */
const OverrideErrors = [SpaceNotFound, RoleNotFound, UserNotFound, RoleHierarchy, Forbidden] as const

const OverrideTarget = {
  space_type: SpaceType,
  space_id: Schema.Number,
  target_type: OverrideTargetType,
  target_id: TargetId
}

export const SpaceRpcs = [
  /** Categories, and the feeds and rooms `user_id` may VIEW_SPACE, in (position, id) order. */
  Rpc.make("GetLayout", { payload: { user_id: UserId }, success: Layout, error: Forbidden }),
  Rpc.make("GetFeed", { payload: { feed_id: FeedId }, success: Feed, error: SpaceNotFound }),
  Rpc.make("GetRoom", { payload: { room_id: RoomId }, success: Room, error: SpaceNotFound }),

  Rpc.make("CreateCategory", {
    payload: { actor: UserId, category: CategoryCreate },
    success: Category,
    error: LimitReached
  }),
  Rpc.make("UpdateCategory", {
    payload: { actor: UserId, category_id: CategoryId, patch: CategoryPatch },
    success: Category,
    error: CategoryNotFound
  }),
  /** Its feeds and rooms stay, uncategorized. */
  Rpc.make("DeleteCategory", { payload: { actor: UserId, category_id: CategoryId }, error: CategoryNotFound }),

  /** Initial overrides are checked like `SetOverride`'s (MANAGE_ROLES, hierarchy, held bits). */
  Rpc.make("CreateFeed", {
    payload: { actor: UserId, feed: FeedCreate },
    success: Feed,
    error: Schema.Union(CategoryNotFound, LimitReached, ...OverrideErrors)
  }),
  Rpc.make("UpdateFeed", {
    payload: { actor: UserId, feed_id: FeedId, patch: FeedPatch },
    success: Feed,
    error: Schema.Union(SpaceNotFound, CategoryNotFound)
  }),
  Rpc.make("DeleteFeed", { payload: { actor: UserId, feed_id: FeedId }, error: SpaceNotFound }),

  Rpc.make("CreateRoom", {
    payload: { actor: UserId, room: RoomCreate },
    success: Room,
    error: Schema.Union(CategoryNotFound, LimitReached, ...OverrideErrors)
  }),
  Rpc.make("UpdateRoom", {
    payload: { actor: UserId, room_id: RoomId, patch: RoomPatch },
    success: Room,
    error: Schema.Union(SpaceNotFound, CategoryNotFound)
  }),
  Rpc.make("DeleteRoom", { payload: { actor: UserId, room_id: RoomId }, error: SpaceNotFound }),

  /** Creates or replaces the override of a role (@everyone included) or a user in a feed or room. */
  Rpc.make("SetOverride", {
    payload: { actor: UserId, ...OverrideTarget, bits: OverrideBits },
    error: Schema.Union(...OverrideErrors)
  }),
  Rpc.make("DeleteOverride", {
    payload: { actor: UserId, ...OverrideTarget },
    error: Schema.Union(...OverrideErrors)
  })
] as const
