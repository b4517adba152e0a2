// The Feed entity (one per feed id, entity id = String(feed_id)): the single writer of its feed's
// messages, reactions and pins. Its writes run one at a time, so the messages of a feed have one total
// order and their snowflake ids increase strictly in commit order. Permissions are checked by the
// route before a call arrives; the caller's permissions in the feed travel in the payload for the
// checks that depend on the message (announcements, @everyone, embeds, deleting others' messages).
import { Entity } from "@effect/cluster"
import { Rpc } from "@effect/rpc"
import { Schema } from "effect"
import {
  EditedMessage,
  EmojiParam,
  HistoryQuery,
  MessageList,
  PinList,
  SendMessage,
  SentMessage
} from "../../protocol/api/messages.js"
import {
  EmptyMessage,
  Forbidden,
  InvalidBody,
  LimitReached,
  MessageNotFound,
  MessageTooLarge,
  PinLimitReached,
  RoleNotFound,
  SpaceNotFound,
  SpaceTypeMismatch,
  UserNotFound
} from "../../protocol/errors.js"
import { UserId } from "../../protocol/ids.js"
import { PermissionSet } from "../../protocol/permissions.js"
import { Snowflake } from "../../protocol/snowflake.js"

/** Most pinned messages one feed holds (PIN_LIMIT_REACHED beyond). */
export const MAX_PINS_PER_FEED = 50

/** The caller of a write and what they may do in this feed (the route resolved it). */
const Actor = { actor: UserId, permissions: PermissionSet }

export const Feed = Entity.make("Feed", [
  Rpc.make("Send", {
    payload: { ...Actor, message: SendMessage },
    success: SentMessage,
    error: Schema.Union(
      SpaceNotFound,
      SpaceTypeMismatch,
      EmptyMessage,
      MessageTooLarge,
      MessageNotFound,
      UserNotFound,
      RoleNotFound,
      Forbidden,
      InvalidBody
    )
  }),
  /** Newest first; with only `after`, oldest first from just after it. */
  Rpc.make("History", { payload: { query: HistoryQuery }, success: MessageList }),
  /** Author only. */
  Rpc.make("Edit", {
    payload: { actor: UserId, msg_id: Snowflake, body: Schema.String },
    success: EditedMessage,
    error: Schema.Union(MessageNotFound, Forbidden, EmptyMessage, MessageTooLarge)
  }),
  /** The author, or a holder of MANAGE_MESSAGES in the feed. */
  Rpc.make("Delete", { payload: { ...Actor, msg_id: Snowflake }, error: Schema.Union(MessageNotFound, Forbidden) }),
  /** Ids that are not messages of this feed are skipped. */
  Rpc.make("BulkDelete", { payload: { actor: UserId, msg_ids: Schema.Array(Snowflake) } }),
  Rpc.make("AddReaction", {
    payload: { actor: UserId, msg_id: Snowflake, emoji: EmojiParam },
    error: Schema.Union(MessageNotFound, LimitReached)
  }),
  Rpc.make("RemoveReaction", {
    payload: { actor: UserId, msg_id: Snowflake, emoji: EmojiParam },
    error: MessageNotFound
  }),
  Rpc.make("Pin", { payload: { actor: UserId, msg_id: Snowflake }, error: Schema.Union(MessageNotFound, PinLimitReached) }),
  Rpc.make("Unpin", { payload: { actor: UserId, msg_id: Snowflake }, error: MessageNotFound }),
  Rpc.make("Pins", { success: PinList })
])
