// Relationships between users: blocks, friends and who may DM you (seed 002 §12; reference API.md
// "Block User" to "List Friends", "Get/Update DM Settings"). All of them are the caller's own business,
// so any signed-in account may call them, member of the community or not.
import { Schema } from "effect"
import { endpoint } from "../endpoint.js"
import { idFromString, UserId } from "../ids.js"
import { Page, PageQuery } from "../pagination.js"
import { Timestamp } from "./fields.js"

/**
 * Who may open a DM with you (seed 002 §12 "DM Permission Controls"). One server is one community, so
 * `mutual_servers` means: both of you are members of it.
 */
export const DmPermission = Schema.Literal("everyone", "friends_only", "mutual_servers", "nobody")
export type DmPermission = typeof DmPermission.Type

export const DmSettings = Schema.Struct({ dm_permission: DmPermission })
export type DmSettings = typeof DmSettings.Type

/** Where a friendship stands, seen from the caller: `incoming` asked you, `outgoing` you asked. */
export const FriendState = Schema.Literal("friend", "incoming", "outgoing")
export type FriendState = typeof FriendState.Type

/** Who the other user is, enough to draw them in a list. */
const OtherUser = {
  user_id: UserId,
  username: Schema.String,
  display_name: Schema.String,
  avatar: Schema.NullOr(Schema.String)
}

/** Someone on the caller's friend list, or a request either way. */
export const Friend = Schema.Struct({
  ...OtherUser,
  relationship: FriendState,
  /** when the friendship began, or when the request was sent */
  since: Timestamp
})
export type Friend = typeof Friend.Type

/** Someone the caller blocked, since when. */
export const BlockedUser = Schema.Struct({ ...OtherUser, since: Timestamp })
export type BlockedUser = typeof BlockedUser.Type

export const MAX_RELATIONSHIP_PAGE = 200

/** `relationship` narrows the list to one state; without it, friends and requests both ways. */
export const FriendsQuery = Schema.Struct({
  ...PageQuery(MAX_RELATIONSHIP_PAGE).fields,
  relationship: Schema.optional(FriendState)
})
export type FriendsQuery = typeof FriendsQuery.Type

const UserParams = Schema.Struct({ user_id: idFromString(UserId) })

/**
 * Blocks a user: a friendship or request between you ends, neither of you can open a DM with the
 * other or add the other to a group DM, your 1:1 DM with them is closed to new messages, edits,
 * reactions and read receipts both ways, and neither sees the other's presence or typing.
 * Blocking someone already blocked changes nothing.
 */
export const blockUser = endpoint({
  name: "blockUser",
  method: "PUT",
  path: "/api/v1/users/@me/blocks/:user_id",
  access: "account",
  params: UserParams
})

/** Lifts your block; unblocking someone not blocked changes nothing (a retried request is no error). */
export const unblockUser = endpoint({
  name: "unblockUser",
  method: "DELETE",
  path: "/api/v1/users/@me/blocks/:user_id",
  access: "account",
  params: UserParams
})

/** The users you blocked, in user id order. */
export const listBlocks = endpoint({
  name: "listBlocks",
  method: "GET",
  path: "/api/v1/users/@me/blocks",
  access: "account",
  query: PageQuery(MAX_RELATIONSHIP_PAGE),
  success: Page(BlockedUser)
})

/**
 * Sends a friend request, or accepts theirs: once both asked, you are friends. Asking again, or
 * asking a friend, changes nothing. USER_BLOCKED when a block stands between you.
 */
export const addFriend = endpoint({
  name: "addFriend",
  method: "PUT",
  path: "/api/v1/users/@me/friends/:user_id",
  access: "account",
  params: UserParams
})

/** Ends a friendship, cancels your request or declines theirs; nothing to end changes nothing. */
export const removeFriend = endpoint({
  name: "removeFriend",
  method: "DELETE",
  path: "/api/v1/users/@me/friends/:user_id",
  access: "account",
  params: UserParams
})

/** Friends and friend requests, in user id order. */
export const listFriends = endpoint({
  name: "listFriends",
  method: "GET",
  path: "/api/v1/users/@me/friends",
  access: "account",
  query: FriendsQuery,
  success: Page(Friend)
})

export const getDmSettings = endpoint({
  name: "getDmSettings",
  method: "GET",
  path: "/api/v1/users/@me/dm-settings",
  access: "account",
  success: DmSettings
})

/** Applies to DMs opened from now on (and to being added to a group DM): open DMs stay open. */
export const updateDmSettings = endpoint({
  name: "updateDmSettings",
  method: "PATCH",
  path: "/api/v1/users/@me/dm-settings",
  access: "account",
  body: DmSettings,
  success: DmSettings
})
