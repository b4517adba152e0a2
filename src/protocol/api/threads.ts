// Threads of feeds: reference API.md §6 "Threads". A thread belongs to its feed (the Feed entity of
// that feed is its single writer); its messages are messages of the feed carrying the thread's id.
// In a text or announcement feed a thread hangs off a top-level message; in a forum feed every post
// is a thread and has no parent message.
//
// Deviation from the reference: the reference updates and deletes a thread at /api/v1/threads/{id},
// a path that does not name the thread's feed. Here every thread path is under its feed
// (/api/v1/feeds/{feed_id}/threads/{thread_id}), like its messages and subscribers, so the route
// checks the caller's permissions in that feed before anything else.
import { Schema } from "effect"
import { endpoint } from "../endpoint.js"
import { FeedId, idFromString, UINT32_MAX, UserId } from "../ids.js"
import { Limit, Page } from "../pagination.js"
import { Snowflake } from "../snowflake.js"
import { BoolFromString, HistoryQuery, MessageList, SendMessage, SentMessage } from "./messages.js"

/** Thread ids are uint32, sequential from 1 across the server. */
export const ThreadId = Schema.Number.pipe(Schema.int(), Schema.between(1, UINT32_MAX), Schema.brand("ThreadId"))
export type ThreadId = typeof ThreadId.Type

const ThreadName = Schema.String.pipe(
  Schema.minLength(1),
  Schema.maxLength(100),
  Schema.filter((s) => s.trim().length > 0, { message: () => "A thread name is not blank" })
)

export const Thread = Schema.Struct({
  thread_id: ThreadId,
  parent_feed_id: FeedId,
  /** null for a forum post */
  parent_msg_id: Schema.NullOr(Snowflake),
  name: Schema.String,
  archived: Schema.Boolean,
  locked: Schema.Boolean,
  creator_id: UserId,
  /** Unix seconds */
  created_at: Schema.Number
})
export type Thread = typeof Thread.Type

/** `parent_msg_id` is a top-level message of the feed; a forum post has none. */
export const CreateThread = Schema.Struct({
  parent_msg_id: Schema.optional(Snowflake),
  name: ThreadName
})
export type CreateThread = typeof CreateThread.Type

/** The name: its creator or MANAGE_THREADS; archived and locked: MANAGE_THREADS (the Feed entity checks). */
export const UpdateThread = Schema.Struct({
  name: Schema.optional(ThreadName),
  archived: Schema.optional(Schema.Boolean),
  locked: Schema.optional(Schema.Boolean)
})
export type UpdateThread = typeof UpdateThread.Type

/** `?archived=true` lists archived threads, else active ones; pages with `limit` and `after`. */
export const ThreadListQuery = Schema.Struct({
  archived: Schema.optional(BoolFromString),
  limit: Schema.optional(Limit(100)),
  after: Schema.optional(Schema.String.pipe(Schema.maxLength(256)))
})
export type ThreadListQuery = typeof ThreadListQuery.Type

export const ThreadPage = Page(Thread)

const FeedParams = Schema.Struct({ feed_id: idFromString(FeedId) })
const ThreadParams = Schema.Struct({ feed_id: idFromString(FeedId), thread_id: idFromString(ThreadId) })

export const createThread = endpoint({
  name: "createThread",
  method: "POST",
  path: "/api/v1/feeds/:feed_id/threads",
  access: { permission: "CREATE_THREADS", space: "feed_id" },
  params: FeedParams,
  body: CreateThread,
  success: Thread,
  status: 201
})

/**
 * The feed's threads, newest first: active ones, or archived ones with `?archived=true`. Not in the
 * reference, which lists no threads; whoever sees the feed hears of its threads' creation anyway
 * (THREAD_CREATE goes to VIEW_SPACE), so seeing the feed is what listing them takes.
 */
export const listThreads = endpoint({
  name: "listThreads",
  method: "GET",
  path: "/api/v1/feeds/:feed_id/threads",
  access: { permission: "VIEW_SPACE", space: "feed_id" },
  params: FeedParams,
  query: ThreadListQuery,
  success: ThreadPage
})

export const updateThread = endpoint({
  name: "updateThread",
  method: "PATCH",
  path: "/api/v1/feeds/:feed_id/threads/:thread_id",
  access: { permission: "VIEW_SPACE", space: "feed_id" },
  params: ThreadParams,
  body: UpdateThread,
  success: Thread
})

/** Deletes the thread and its messages. */
export const deleteThread = endpoint({
  name: "deleteThread",
  method: "DELETE",
  path: "/api/v1/feeds/:feed_id/threads/:thread_id",
  access: { permission: "MANAGE_THREADS", space: "feed_id" },
  params: ThreadParams
})

export const getThreadHistory = endpoint({
  name: "getThreadHistory",
  method: "GET",
  path: "/api/v1/feeds/:feed_id/threads/:thread_id/messages",
  access: { permission: "READ_HISTORY", space: "feed_id" },
  params: ThreadParams,
  query: HistoryQuery,
  success: MessageList
})

/**
 * Same body, answer and nonce rules as a feed message. A locked thread takes messages only from
 * holders of MANAGE_THREADS; a message in an archived thread unarchives it (as Discord does).
 */
export const sendThreadMessage = endpoint({
  name: "sendThreadMessage",
  method: "POST",
  path: "/api/v1/feeds/:feed_id/threads/:thread_id/messages",
  access: { permission: "SEND_IN_THREADS", space: "feed_id" },
  params: ThreadParams,
  body: SendMessage,
  success: SentMessage,
  status: 201
})

/** The caller subscribes (idempotent). */
export const subscribeThread = endpoint({
  name: "subscribeThread",
  method: "PUT",
  path: "/api/v1/feeds/:feed_id/threads/:thread_id/subscribers",
  access: { permission: "VIEW_SPACE", space: "feed_id" },
  params: ThreadParams
})

/** The caller unsubscribes (idempotent). */
export const unsubscribeThread = endpoint({
  name: "unsubscribeThread",
  method: "DELETE",
  path: "/api/v1/feeds/:feed_id/threads/:thread_id/subscribers",
  access: { permission: "VIEW_SPACE", space: "feed_id" },
  params: ThreadParams
})
