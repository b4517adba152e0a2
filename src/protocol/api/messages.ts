// Messages in feeds: reference API.md §6 "Messages". Message ids are snowflakes (uint64, exact JSON
// numbers); times are Unix seconds as the reference shows them.
import { Schema } from "effect"
import { endpoint } from "../endpoint.js"
import { FeedId, idFromString, RoleId, UserId } from "../ids.js"
import { Snowflake, SnowflakeFromString } from "../snowflake.js"

/** A mention of a user, a role, or everyone (@everyone needs MENTION_EVERYONE). */
export const Mention = Schema.Union(
  Schema.Struct({ user_id: UserId }),
  Schema.Struct({ role_id: RoleId }),
  Schema.Struct({ everyone: Schema.Literal(true) })
)
export type Mention = typeof Mention.Type

/** A link preview attached by the sender (SEND_EMBEDS). */
export const Embed = Schema.Struct({
  url: Schema.String.pipe(Schema.maxLength(2048)),
  title: Schema.optional(Schema.String.pipe(Schema.maxLength(256))),
  description: Schema.optional(Schema.String.pipe(Schema.maxLength(4096))),
  image: Schema.optional(Schema.NullOr(Schema.String.pipe(Schema.maxLength(2048)))),
  video: Schema.optional(Schema.NullOr(Schema.String.pipe(Schema.maxLength(2048))))
})
export type Embed = typeof Embed.Type

export const Reaction = Schema.Struct({
  emoji: Schema.String,
  count: Schema.Number,
  /** user ids of who reacted, oldest first */
  user_ids: Schema.Array(UserId)
})
export type Reaction = typeof Reaction.Type

export const ChatMessage = Schema.Struct({
  msg_id: Snowflake,
  feed_id: FeedId,
  thread_id: Schema.NullOr(Schema.Number),
  author_id: UserId,
  body: Schema.String,
  /** Unix seconds */
  timestamp: Schema.Number,
  reply_to: Schema.NullOr(Snowflake),
  mentions: Schema.Array(Mention),
  embeds: Schema.Array(Embed),
  /** file ids from POST /feeds/{feed_id}/files */
  attachments: Schema.Array(Schema.String),
  components: Schema.Array(Schema.Unknown),
  edit_timestamp: Schema.NullOr(Schema.Number),
  pinned: Schema.Boolean,
  reactions: Schema.Array(Reaction),
  federated: Schema.Boolean,
  author_address: Schema.NullOr(Schema.String)
})
export type ChatMessage = typeof ChatMessage.Type

/** Bodies are limited by the server's `max_message_length` (MESSAGE_TOO_LARGE), counted in characters. */
export const SendMessage = Schema.Struct({
  body: Schema.String,
  reply_to: Schema.optional(Snowflake),
  mentions: Schema.optional(Schema.Array(Mention).pipe(Schema.maxItems(100))),
  embeds: Schema.optional(Schema.Array(Embed).pipe(Schema.maxItems(10))),
  attachments: Schema.optional(Schema.Array(Schema.String.pipe(Schema.maxLength(64))).pipe(Schema.maxItems(10))),
  components: Schema.optional(Schema.Array(Schema.Unknown).pipe(Schema.maxItems(5))),
  /** A retry with the same nonce from the same author returns the original message (DECISIONS.md). */
  nonce: Schema.optional(Schema.String.pipe(Schema.minLength(1), Schema.maxLength(64)))
})
export type SendMessage = typeof SendMessage.Type

export const SentMessage = Schema.Struct({ msg_id: Snowflake, timestamp: Schema.Number })

export const EditMessage = Schema.Struct({ body: Schema.String })
export const EditedMessage = Schema.Struct({ msg_id: Snowflake, edit_timestamp: Schema.Number })

export const BulkDelete = Schema.Struct({
  msg_ids: Schema.Array(Snowflake).pipe(Schema.minItems(1), Schema.maxItems(100, {
    message: () => "At most 100 messages per bulk delete"
  }))
})

const Before = Schema.optional(SnowflakeFromString)
export const HistoryQuery = Schema.Struct({
  limit: Schema.optional(Schema.compose(
    Schema.String.pipe(Schema.pattern(/^[0-9]{1,4}$/)),
    Schema.NumberFromString.pipe(Schema.int(), Schema.between(1, 100))
  )),
  before: Before,
  after: Schema.optional(SnowflakeFromString)
})
export type HistoryQuery = typeof HistoryQuery.Type

export const MessageList = Schema.Struct({ messages: Schema.Array(ChatMessage) })

export const Pin = Schema.Struct({ msg_id: Snowflake, feed_id: FeedId, pinned_at: Schema.Number, pinned_by: UserId })
export const PinList = Schema.Struct({ pins: Schema.Array(Pin) })

/** A unicode emoji (1-32 characters, no spaces) or a custom one as `name:id`. */
export const EmojiParam = Schema.String.pipe(
  Schema.minLength(1),
  Schema.maxLength(64),
  Schema.filter((s) => !/\s/.test(s), { message: () => "An emoji has no whitespace" })
)

const FeedParams = Schema.Struct({ feed_id: idFromString(FeedId) })
const MessageParams = Schema.Struct({ feed_id: idFromString(FeedId), msg_id: SnowflakeFromString })
const ReactionParams = Schema.Struct({ ...MessageParams.fields, emoji: EmojiParam })

export const getHistory = endpoint({
  name: "getHistory",
  method: "GET",
  path: "/api/v1/feeds/:feed_id/messages",
  access: { permission: "READ_HISTORY", space: "feed_id" },
  params: FeedParams,
  query: HistoryQuery,
  success: MessageList
})

export const sendMessage = endpoint({
  name: "sendMessage",
  method: "POST",
  path: "/api/v1/feeds/:feed_id/messages",
  access: { permission: "SEND_MESSAGES", space: "feed_id" },
  params: FeedParams,
  body: SendMessage,
  success: SentMessage,
  status: 201
})

/** Only the author edits (checked by the Feed entity). */
export const editMessage = endpoint({
  name: "editMessage",
  method: "PATCH",
  path: "/api/v1/feeds/:feed_id/messages/:msg_id",
  access: { permission: "VIEW_SPACE", space: "feed_id" },
  params: MessageParams,
  body: EditMessage,
  success: EditedMessage
})

/** The author, or a member with MANAGE_MESSAGES in the feed (checked by the Feed entity). */
export const deleteMessage = endpoint({
  name: "deleteMessage",
  method: "DELETE",
  path: "/api/v1/feeds/:feed_id/messages/:msg_id",
  access: { permission: "VIEW_SPACE", space: "feed_id" },
  params: MessageParams
})

export const bulkDeleteMessages = endpoint({
  name: "bulkDeleteMessages",
  method: "POST",
  path: "/api/v1/feeds/:feed_id/messages/bulk-delete",
  access: { permission: "MANAGE_MESSAGES", space: "feed_id" },
  params: FeedParams,
  body: BulkDelete
})

export const addReaction = endpoint({
  name: "addReaction",
  method: "PUT",
  path: "/api/v1/feeds/:feed_id/messages/:msg_id/reactions/:emoji",
  access: { permission: "ADD_REACTIONS", space: "feed_id" },
  params: ReactionParams
})

/** Removes the caller's own reaction. */
export const removeReaction = endpoint({
  name: "removeReaction",
  method: "DELETE",
  path: "/api/v1/feeds/:feed_id/messages/:msg_id/reactions/:emoji",
  access: { permission: "VIEW_SPACE", space: "feed_id" },
  params: ReactionParams
})

export const pinMessage = endpoint({
  name: "pinMessage",
  method: "PUT",
  path: "/api/v1/feeds/:feed_id/pins/:msg_id",
  access: { permission: "MANAGE_MESSAGES", space: "feed_id" },
  params: MessageParams
})

export const unpinMessage = endpoint({
  name: "unpinMessage",
  method: "DELETE",
  path: "/api/v1/feeds/:feed_id/pins/:msg_id",
  access: { permission: "MANAGE_MESSAGES", space: "feed_id" },
  params: MessageParams
})

export const listPins = endpoint({
  name: "listPins",
  method: "GET",
  path: "/api/v1/feeds/:feed_id/pins",
  access: { permission: "READ_HISTORY", space: "feed_id" },
  params: FeedParams,
  success: PinList
})

/** `true` or `false` in a query string. */
export const BoolFromString = Schema.transform(Schema.Literal("true", "false"), Schema.Boolean, {
  strict: true,
  decode: (s) => s === "true",
  encode: (b) => (b ? "true" : "false")
})
const Seconds = Schema.compose(Schema.String.pipe(Schema.pattern(/^[0-9]{1,12}$/)), Schema.NumberFromString)

export const SearchQuery = Schema.Struct({
  query: Schema.String.pipe(Schema.minLength(1), Schema.maxLength(256)),
  feed_id: Schema.optional(idFromString(FeedId)),
  author_id: Schema.optional(idFromString(UserId)),
  /** Unix seconds */
  before: Schema.optional(Seconds),
  after: Schema.optional(Seconds),
  has_file: Schema.optional(BoolFromString),
  has_embed: Schema.optional(BoolFromString),
  pinned: Schema.optional(BoolFromString),
  limit: Schema.optional(Schema.compose(
    Schema.String.pipe(Schema.pattern(/^[0-9]{1,3}$/)),
    Schema.NumberFromString.pipe(Schema.int(), Schema.between(1, 100))
  )),
  cursor: Schema.optional(Schema.String.pipe(Schema.maxLength(256)))
})
export type SearchQuery = typeof SearchQuery.Type

export const SearchResults = Schema.Struct({
  results: Schema.Array(ChatMessage),
  cursor: Schema.NullOr(Schema.String)
})

/** Only feeds the searcher may read (VIEW_SPACE and READ_HISTORY) contribute results. */
export const searchMessages = endpoint({
  name: "searchMessages",
  method: "GET",
  path: "/api/v1/messages/search",
  access: "member",
  query: SearchQuery,
  success: SearchResults
})
