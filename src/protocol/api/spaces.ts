// The community's structure: categories, feeds and rooms, their permission overrides, and the layout
// that lists them (reference API.md §6 "Feeds", "Rooms", "Categories", "Permission Overrides").
import { Schema } from "effect"
import { endpoint } from "../endpoint.js"
import { CategoryId, FeedId, idFromString, RoomId, TargetId } from "../ids.js"
import { has, Permission, PermissionSet } from "../permissions.js"
import { Name, Position, Text } from "./fields.js"

export const FeedType = Schema.Literal("text", "forum", "announcement")
export type FeedType = typeof FeedType.Type
export const RoomType = Schema.Literal("voice", "stage")
export type RoomType = typeof RoomType.Type
export const SpaceType = Schema.Literal("feed", "room")
export type SpaceType = typeof SpaceType.Type
export const OverrideTargetType = Schema.Literal("role", "user")
export type OverrideTargetType = typeof OverrideTargetType.Type

/**
 * The bits an override allows and denies. ADMINISTRATOR is server-wide by nature (seed 002 §7 step
 * 6), so no override may carry it; a bit both allowed and denied would be ambiguous.
 */
export const OverrideBits = Schema.Struct({ allow: PermissionSet, deny: PermissionSet }).pipe(
  Schema.filter((o) => {
    if (has(o.allow, Permission.ADMINISTRATOR) || has(o.deny, Permission.ADMINISTRATOR)) {
      return "ADMINISTRATOR cannot be allowed or denied in a feed or room"
    }
    if ((o.allow & o.deny) !== 0n) return "A permission cannot be both allowed and denied"
    return true
  })
)
export type OverrideBits = typeof OverrideBits.Type

export const PermissionOverride = Schema.Struct({
  target_type: OverrideTargetType,
  target_id: TargetId,
  allow: PermissionSet,
  deny: PermissionSet
})
export type PermissionOverride = typeof PermissionOverride.Type

/** An override given when a feed or room is created. */
export const PermissionOverrideInput = Schema.extend(
  Schema.Struct({ target_type: OverrideTargetType, target_id: TargetId }),
  OverrideBits
)

export const Category = Schema.Struct({
  category_id: CategoryId,
  name: Schema.String,
  position: Schema.Number
})
export type Category = typeof Category.Type

export const Feed = Schema.Struct({
  feed_id: FeedId,
  name: Schema.String,
  type: FeedType,
  category_id: Schema.NullOr(CategoryId),
  position: Schema.Number,
  topic: Schema.NullOr(Schema.String),
  nsfw: Schema.Boolean,
  slowmode_seconds: Schema.Number,
  permission_overrides: Schema.Array(PermissionOverride)
})
export type Feed = typeof Feed.Type

export const Room = Schema.Struct({
  room_id: RoomId,
  name: Schema.String,
  type: RoomType,
  category_id: Schema.NullOr(CategoryId),
  position: Schema.Number,
  user_limit: Schema.Number,
  bitrate: Schema.Number,
  permission_overrides: Schema.Array(PermissionOverride)
})
export type Room = typeof Room.Type

export const Layout = Schema.Struct({
  categories: Schema.Array(Category),
  feeds: Schema.Array(Feed),
  rooms: Schema.Array(Room)
})
export type Layout = typeof Layout.Type

const Topic = Schema.NullOr(Text(1024))
const Slowmode = Schema.Number.pipe(Schema.int(), Schema.between(0, 21_600, {
  message: () => "slowmode_seconds is between 0 and 21600"
}))
const UserLimit = Schema.Number.pipe(Schema.int(), Schema.between(0, 10_000, {
  message: () => "user_limit is between 0 (unlimited) and 10000"
}))
const Bitrate = Schema.Number.pipe(Schema.int(), Schema.between(8_000, 512_000, {
  message: () => "bitrate is between 8000 and 512000 bits per second"
}))
const Overrides = Schema.Array(PermissionOverrideInput).pipe(
  Schema.maxItems(100),
  Schema.filter((list) => new Set(list.map((o) => `${o.target_type}:${o.target_id}`)).size === list.length, {
    message: () => "Each role or user has at most one override"
  })
)

export const FeedCreate = Schema.Struct({
  name: Name("Feed"),
  type: FeedType,
  category_id: Schema.optional(Schema.NullOr(CategoryId)),
  position: Schema.optional(Position),
  topic: Schema.optional(Topic),
  nsfw: Schema.optional(Schema.Boolean),
  slowmode_seconds: Schema.optional(Slowmode),
  permission_overrides: Schema.optional(Overrides)
})
export type FeedCreate = typeof FeedCreate.Type

export const FeedPatch = Schema.Struct({
  name: Schema.optional(Name("Feed")),
  category_id: Schema.optional(Schema.NullOr(CategoryId)),
  position: Schema.optional(Position),
  topic: Schema.optional(Topic),
  nsfw: Schema.optional(Schema.Boolean),
  slowmode_seconds: Schema.optional(Slowmode)
})
export type FeedPatch = typeof FeedPatch.Type

export const RoomCreate = Schema.Struct({
  name: Name("Room"),
  type: RoomType,
  category_id: Schema.optional(Schema.NullOr(CategoryId)),
  position: Schema.optional(Position),
  user_limit: Schema.optional(UserLimit),
  bitrate: Schema.optional(Bitrate),
  permission_overrides: Schema.optional(Overrides)
})
export type RoomCreate = typeof RoomCreate.Type

export const RoomPatch = Schema.Struct({
  name: Schema.optional(Name("Room")),
  category_id: Schema.optional(Schema.NullOr(CategoryId)),
  position: Schema.optional(Position),
  user_limit: Schema.optional(UserLimit),
  bitrate: Schema.optional(Bitrate)
})
export type RoomPatch = typeof RoomPatch.Type

export const CategoryCreate = Schema.Struct({ name: Name("Category"), position: Schema.optional(Position) })
export type CategoryCreate = typeof CategoryCreate.Type
export const CategoryPatch = Schema.Struct({ name: Schema.optional(Name("Category")), position: Schema.optional(Position) })
export type CategoryPatch = typeof CategoryPatch.Type

const FeedParams = Schema.Struct({ feed_id: idFromString(FeedId) })
const RoomParams = Schema.Struct({ room_id: idFromString(RoomId) })
const CategoryParams = Schema.Struct({ category_id: idFromString(CategoryId) })

/** `role` / `user` and a decimal id, as they appear in an override's path. */
const OverrideTarget = {
  target_type: OverrideTargetType,
  target_id: Schema.compose(
    Schema.String.pipe(Schema.pattern(/^[0-9]{1,10}$/, { message: () => "Expected a decimal id" })),
    Schema.NumberFromString
  ).pipe(Schema.compose(TargetId, { strict: false }))
}

export const getLayout = endpoint({
  name: "getLayout",
  method: "GET",
  path: "/api/v1/server/layout",
  access: "member",
  success: Layout
})

export const getFeed = endpoint({
  name: "getFeed",
  method: "GET",
  path: "/api/v1/feeds/:feed_id",
  access: { permission: "VIEW_SPACE", space: "feed_id" },
  params: FeedParams,
  success: Feed
})

export const createFeed = endpoint({
  name: "createFeed",
  method: "POST",
  path: "/api/v1/feeds",
  access: { permission: "MANAGE_SPACES" },
  body: FeedCreate,
  success: Feed,
  status: 201
})

export const updateFeed = endpoint({
  name: "updateFeed",
  method: "PATCH",
  path: "/api/v1/feeds/:feed_id",
  access: { permission: "MANAGE_SPACES" },
  params: FeedParams,
  body: FeedPatch,
  success: Feed
})

export const deleteFeed = endpoint({
  name: "deleteFeed",
  method: "DELETE",
  path: "/api/v1/feeds/:feed_id",
  access: { permission: "MANAGE_SPACES" },
  params: FeedParams
})

export const getRoom = endpoint({
  name: "getRoom",
  method: "GET",
  path: "/api/v1/rooms/:room_id",
  access: { permission: "VIEW_SPACE", space: "room_id" },
  params: RoomParams,
  success: Room
})

export const createRoom = endpoint({
  name: "createRoom",
  method: "POST",
  path: "/api/v1/rooms",
  access: { permission: "MANAGE_SPACES" },
  body: RoomCreate,
  success: Room,
  status: 201
})

export const updateRoom = endpoint({
  name: "updateRoom",
  method: "PATCH",
  path: "/api/v1/rooms/:room_id",
  access: { permission: "MANAGE_SPACES" },
  params: RoomParams,
  body: RoomPatch,
  success: Room
})

export const deleteRoom = endpoint({
  name: "deleteRoom",
  method: "DELETE",
  path: "/api/v1/rooms/:room_id",
  access: { permission: "MANAGE_SPACES" },
  params: RoomParams
})

export const createCategory = endpoint({
  name: "createCategory",
  method: "POST",
  path: "/api/v1/categories",
  access: { permission: "MANAGE_SPACES" },
  body: CategoryCreate,
  success: Category,
  status: 201
})

export const updateCategory = endpoint({
  name: "updateCategory",
  method: "PATCH",
  path: "/api/v1/categories/:category_id",
  access: { permission: "MANAGE_SPACES" },
  params: CategoryParams,
  body: CategoryPatch,
  success: Category
})

export const deleteCategory = endpoint({
  name: "deleteCategory",
  method: "DELETE",
  path: "/api/v1/categories/:category_id",
  access: { permission: "MANAGE_SPACES" },
  params: CategoryParams
})

// Overrides decide who sees and does what, which is role management (reference API.md: MANAGE_ROLES).
export const setFeedOverride = endpoint({
  name: "setFeedOverride",
  method: "PUT",
  path: "/api/v1/feeds/:feed_id/permissions/:target_type/:target_id",
  access: { permission: "MANAGE_ROLES" },
  params: Schema.Struct({ ...FeedParams.fields, ...OverrideTarget }),
  body: OverrideBits
})

export const deleteFeedOverride = endpoint({
  name: "deleteFeedOverride",
  method: "DELETE",
  path: "/api/v1/feeds/:feed_id/permissions/:target_type/:target_id",
  access: { permission: "MANAGE_ROLES" },
  params: Schema.Struct({ ...FeedParams.fields, ...OverrideTarget })
})

export const setRoomOverride = endpoint({
  name: "setRoomOverride",
  method: "PUT",
  path: "/api/v1/rooms/:room_id/permissions/:target_type/:target_id",
  access: { permission: "MANAGE_ROLES" },
  params: Schema.Struct({ ...RoomParams.fields, ...OverrideTarget }),
  body: OverrideBits
})

export const deleteRoomOverride = endpoint({
  name: "deleteRoomOverride",
  method: "DELETE",
  path: "/api/v1/rooms/:room_id/permissions/:target_type/:target_id",
  access: { permission: "MANAGE_ROLES" },
  params: Schema.Struct({ ...RoomParams.fields, ...OverrideTarget })
})
