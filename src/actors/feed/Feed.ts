// The Feed entity (one per feed id, entity id = String(feed_id)): the single writer of its feed's
// messages, reactions, pins and threads. Its writes run one at a time (sends waiting together are
// committed as one write: see FeedLive.ts), so the messages of a feed have one total order and their
// snowflake ids increase strictly in commit order. Permissions are checked by the route before a
// call arrives; the caller's permissions in the feed travel in the payload for the checks that
// depend on them (announcements, @everyone, embeds, slowmode, deleting others' messages).
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
import { CreateThread, Thread, ThreadId, ThreadListQuery, ThreadPage, UpdateThread } from "../../protocol/api/threads.js"
import {
  EmptyMessage,
  FileNotFound,
  Forbidden,
  InvalidBody,
  LimitReached,
  MessageNotFound,
  MessageTooLarge,
  PinLimitReached,
  RateLimited,
  RoleNotFound,
  SpaceNotFound,
  SpaceTypeMismatch,
  ThreadNotFound,
  UserNotFound
} from "../../protocol/errors.js"
import { UserId } from "../../protocol/ids.js"
import { PermissionSet } from "../../protocol/permissions.js"
import { rpcPayload } from "../../protocol/rpcPayload.js"
import { Snowflake } from "../../protocol/snowflake.js"

/** Most pinned messages one feed holds (PIN_LIMIT_REACHED beyond). */
export const MAX_PINS_PER_FEED = 50

/** The caller of a write and what they may do in this feed (the route resolved it). */
const Actor = { actor: UserId, permissions: PermissionSet }

/** Absent: the feed's top-level messages; present: the messages of that thread of the feed. */
const InThread = { thread_id: Schema.optional(ThreadId) }

export const Feed = Entity.make("Feed", [
  Rpc.make("Send", {
    payload: rpcPayload({ ...Actor, ...InThread, message: SendMessage }),
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
      InvalidBody,
      ThreadNotFound,
      FileNotFound,
      RateLimited
    )
  }),
  /** Newest first; with only `after`, oldest first from just after it. */
  Rpc.make("History", { payload: { ...InThread, query: HistoryQuery }, success: MessageList, error: ThreadNotFound }),
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
  Rpc.make("Pins", { success: PinList }),
  /** From a top-level message of the feed, or, in a forum feed, a post without one. */
  Rpc.make("CreateThread", {
    payload: { actor: UserId, thread: CreateThread },
    success: Thread,
    error: Schema.Union(SpaceNotFound, MessageNotFound, InvalidBody)
  }),
  /** The name: its creator or MANAGE_THREADS; archived and locked: MANAGE_THREADS. */
  Rpc.make("UpdateThread", {
    payload: { ...Actor, thread_id: ThreadId, patch: UpdateThread },
    success: Thread,
    error: Schema.Union(ThreadNotFound, Forbidden)
  }),
  /** The feed's active or archived threads, newest first. */
  Rpc.make("Threads", { payload: { query: ThreadListQuery }, success: ThreadPage, error: InvalidBody }),
  Rpc.make("DeleteThread", { payload: { actor: UserId, thread_id: ThreadId }, error: ThreadNotFound }),
  Rpc.make("Subscribe", { payload: { actor: UserId, thread_id: ThreadId }, error: ThreadNotFound }),
  Rpc.make("Unsubscribe", { payload: { actor: UserId, thread_id: ThreadId }, error: ThreadNotFound })
])
