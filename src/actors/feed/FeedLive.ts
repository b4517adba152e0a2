// Behaviour of the Feed entity. Its writes run one at a time (the write lock), each in one
// transaction with the events it emits (published after the commit); reads are forked beside them.
// Sends are committed in groups (GroupCommit.ts, SendBatch.ts): those that arrive while a write runs
// wait and then go together in one transaction.
import { Entity } from "@effect/cluster"
import { Rpc } from "@effect/rpc"
import { Duration, Effect, Either, Layer, Option, Schema } from "effect"
import type { CreateThread, ThreadId, UpdateThread } from "../../protocol/api/threads.js"
import {
  Forbidden,
  InvalidBody,
  LimitReached,
  MessageNotFound,
  PinLimitReached,
  SpaceNotFound,
  ThreadNotFound
} from "../../protocol/errors.js"
import * as Ev from "../../protocol/events.js"
import type { Audience } from "../../protocol/events.js"
import { FeedId, type UserId } from "../../protocol/ids.js"
import { decodeCursor, encodeCursor } from "../../protocol/pagination.js"
import { has, Permission } from "../../protocol/permissions.js"
import type { Snowflake } from "../../protocol/snowflake.js"
import { VoxConfig } from "../../runtime/config/VoxConfig.js"
import { dieOnStorageError } from "../../runtime/db/storageErrors.js"
import { type Emit, Events } from "../../runtime/events/Events.js"
import { readLimits } from "../community/limits/limits.js"
import { Feed, MAX_PINS_PER_FEED } from "./Feed.js"
import { FeedRepo, seconds, toThread } from "./FeedRepo.js"
import { makeGroupCommit } from "./GroupCommit.js"
import { type LocalFeed, LocalFeeds } from "./LocalFeeds.js"
import { checkBody, missing } from "./rules.js"
import { makeSendBatch, type SendItem } from "./SendBatch.js"

const DEFAULT_HISTORY_LIMIT = 50
const DEFAULT_THREAD_LIMIT = 50

/** Where a page of threads ends: the last thread's id. */
const ThreadCursor = Schema.Struct({ id: Schema.Number.pipe(Schema.int(), Schema.positive()) })

/** Most sends one commit takes: bounds a transaction's length and the wait of the sends behind it. */
const MAX_SENDS_PER_COMMIT = 256

export const FeedLive = Feed.toLayer(
  Effect.gen(function* () {
    const address = yield* Entity.CurrentAddress
    const repo = yield* FeedRepo
    const events = yield* Events
    const feedId = FeedId.make(Number(address.entityId))

    /** Who hears about this feed's messages: those who may see the feed. */
    const audience: Audience = { _tag: "space", space_type: "feed", space_id: feedId, permission: Permission.VIEW_SPACE }

    // One write of this feed at a time, a batch of sends counting as one: the feed's messages have
    // one order, and on PostgreSQL no two of its transactions interleave their checks and changes.
    const lock = yield* Effect.makeSemaphore(1)
    const exclusive = lock.withPermits(1)
    const sends = yield* makeSendBatch(feedId, audience)
    const send = yield* makeGroupCommit({
      maxBatch: MAX_SENDS_PER_COMMIT,
      // A storage failure fails every send of the batch: its transaction rolled back.
      commit: (items: ReadonlyArray<SendItem>) => exclusive(sends.commit(items)).pipe(Effect.orDie)
    })

    // Listed for direct sends while this entity runs (LocalFeeds.ts). Added after the group commit, so
    // removed before it stops: nothing is offered to a commit that no longer takes.
    const local = yield* LocalFeeds
    const config = yield* VoxConfig
    // Half the idle time: the entity's idle clock, reset by cluster calls only, never runs out while
    // direct sends come in.
    const freshForMs = Duration.toMillis(config.cluster.entityMaxIdleTime) / 2
    let lastClusterCall = Date.now()
    const listed: LocalFeed = { fresh: () => Date.now() - lastClusterCall < freshForMs, offer: send.offer }
    local.set(feedId, listed)
    // only this instance's entry: a successor may have listed itself already
    yield* Effect.addFinalizer(() => Effect.sync(() => local.get(feedId) === listed && local.delete(feedId)))

    /** A message of this feed, top-level or in one of its threads. */
    const message = (id: Snowflake) =>
      Effect.flatMap(repo.find(feedId, id, "any"), Option.match({
        onNone: () => Effect.fail(new MessageNotFound()),
        onSome: Effect.succeed
      }))

    const thread = (id: ThreadId) =>
      Effect.flatMap(repo.findThread(feedId, id), Option.match({
        onNone: () => Effect.fail(new ThreadNotFound()),
        onSome: Effect.succeed
      }))

    /** A write of this feed: alone, in one transaction with its events. */
    const write = <A, E, R>(body: (emit: Emit) => Effect.Effect<A, E, R>) => exclusive(events.transact(body))

    const createThread = (actor: UserId, input: CreateThread) =>
      write((emit) =>
        Effect.gen(function* () {
          const type = yield* repo.feedType(feedId)
          if (Option.isNone(type)) return yield* new SpaceNotFound()
          const parent = input.parent_msg_id ?? null
          if (parent === null && type.value !== "forum") {
            return yield* new InvalidBody({
              message: "parent_msg_id is required: outside forum feeds a thread starts from a message.",
              location: "body"
            })
          }
          if (parent !== null) {
            // A forum feed has no top-level messages, so a parent is never found there.
            if (Option.isNone(yield* repo.find(feedId, parent))) {
              return yield* new MessageNotFound({ message: "The parent message is not a top-level message of this feed." })
            }
            if (yield* repo.threadOf(parent)) {
              return yield* new InvalidBody({ message: "That message already has a thread.", location: "body" })
            }
          }
          const created_at = Date.now()
          const fields = { feed_id: feedId, parent_msg_id: parent, name: input.name, creator_id: actor, created_at }
          const id = yield* repo.insertThread(fields)
          yield* repo.subscribe(id, actor)
          const created = toThread({ ...fields, id, archived: false, locked: false })
          yield* emit(Ev.ThreadCreate, created, audience)
          return created
        })
      )

    const updateThread = (actor: UserId, permissions: bigint, id: ThreadId, patch: UpdateThread) =>
      write((emit) =>
        Effect.gen(function* () {
          const row = yield* thread(id)
          const moderator = has(permissions, Permission.MANAGE_THREADS)
          if (patch.name !== undefined && row.creator_id !== actor && !moderator) {
            return yield* missing("MANAGE_THREADS", "to rename another member's thread")
          }
          if ((patch.archived !== undefined || patch.locked !== undefined) && !moderator) {
            return yield* missing("MANAGE_THREADS", "to archive or lock a thread")
          }
          const next = {
            ...row,
            name: patch.name ?? row.name,
            archived: patch.archived ?? row.archived,
            locked: patch.locked ?? row.locked
          }
          const changes = {
            ...(next.name === row.name ? {} : { name: next.name }),
            ...(next.archived === row.archived ? {} : { archived: next.archived }),
            ...(next.locked === row.locked ? {} : { locked: next.locked })
          }
          if (Object.keys(changes).length === 0) return toThread(row)
          yield* repo.updateThread(row.id, next)
          const updated = toThread(next)
          yield* emit(Ev.ThreadUpdate, updated, audience)
          // What took MANAGE_THREADS is audited: archiving, locking, renaming someone else's thread.
          if (changes.archived !== undefined || changes.locked !== undefined || row.creator_id !== actor) {
            yield* repo.audit({
              event_type: "thread.update",
              actor_id: actor,
              target_id: row.id,
              metadata: {
                feed_id: feedId,
                thread_id: row.id,
                name: next.name,
                changes,
                ...(changes.name === undefined ? {} : { previous_name: row.name })
              }
            })
          }
          return updated
        })
      )

    return Feed.of({
      // Forked: sends wait in the group commit's queue, not in the mailbox, so they can be batched.
      Send: ({ payload }) =>
        Rpc.fork(Effect.suspend(() => {
          lastClusterCall = Date.now()
          return send.submit({
            actor: payload.actor,
            permissions: payload.permissions,
            where: payload.thread_id ?? null,
            message: payload.message
          })
        })),

      History: ({ payload }) =>
        Rpc.fork(
          Effect.gen(function* () {
            const where = payload.thread_id ?? null
            if (where !== null) yield* thread(where)
            return yield* repo.page(feedId, {
              before: payload.query.before,
              after: payload.query.after,
              limit: payload.query.limit ?? DEFAULT_HISTORY_LIMIT
            }, where)
          }).pipe(
            Effect.flatMap(repo.hydrate),
            Effect.map((messages) => ({ messages })),
            dieOnStorageError
          )
        ),

      Edit: ({ payload }) =>
        write((emit) =>
          Effect.gen(function* () {
            const row = yield* message(payload.msg_id)
            if (row.author_id !== payload.actor) return yield* new Forbidden({ message: "Only the author can edit a message." })
            yield* checkBody(payload.body, row.embeds.length > 0 || row.attachments.length > 0, (yield* readLimits).max_message_length)
            const now = Date.now()
            yield* repo.editBody(row.id, payload.body, now)
            const edit_timestamp = seconds(now)
            yield* emit(Ev.MessageUpdate, { msg_id: row.id, feed_id: feedId, body: payload.body, edit_timestamp }, audience)
            return { msg_id: row.id, edit_timestamp }
          })
        ).pipe(dieOnStorageError),

      Delete: ({ payload }) =>
        write((emit) =>
          Effect.gen(function* () {
            const row = yield* message(payload.msg_id)
            const own = row.author_id === payload.actor
            if (!own && !has(payload.permissions, Permission.MANAGE_MESSAGES)) {
              return yield* missing("MANAGE_MESSAGES", "to delete another member's message")
            }
            yield* repo.remove([row.id])
            yield* emit(Ev.MessageDelete, { msg_id: row.id, feed_id: feedId }, audience)
            if (!own) {
              yield* repo.audit({
                event_type: "message.delete",
                actor_id: payload.actor,
                target_id: row.author_id,
                metadata: { feed_id: feedId, msg_id: row.id }
              })
            }
          })
        ).pipe(dieOnStorageError),

      BulkDelete: ({ payload }) =>
        write((emit) =>
          Effect.gen(function* () {
            const ids = yield* repo.existing(feedId, [...new Set(payload.msg_ids)])
            if (ids.length === 0) return
            yield* repo.remove(ids)
            yield* emit(Ev.MessageBulkDelete, { feed_id: feedId, msg_ids: ids }, audience)
            yield* repo.audit({
              event_type: "message.bulk_delete",
              actor_id: payload.actor,
              target_id: feedId,
              metadata: { feed_id: feedId, count: ids.length }
            })
          })
        ).pipe(dieOnStorageError),

      AddReaction: ({ payload }) =>
        write((emit) =>
          Effect.gen(function* () {
            const row = yield* message(payload.msg_id)
            if (yield* repo.hasReaction(row.id, payload.emoji, payload.actor)) return
            const emojis = yield* repo.emojisOn(row.id)
            const limits = yield* readLimits
            if (!emojis.has(payload.emoji) && emojis.size >= limits.max_reactions_per_message) {
              return yield* new LimitReached({
                message: `A message carries at most ${limits.max_reactions_per_message} different reactions.`,
                limit: "max_reactions_per_message",
                max: limits.max_reactions_per_message
              })
            }
            yield* repo.addReaction(row.id, payload.emoji, payload.actor)
            yield* emit(Ev.MessageReactionAdd, { msg_id: row.id, feed_id: feedId, user_id: payload.actor, emoji: payload.emoji }, audience)
          })
        ).pipe(dieOnStorageError),

      RemoveReaction: ({ payload }) =>
        write((emit) =>
          Effect.gen(function* () {
            const row = yield* message(payload.msg_id)
            if (!(yield* repo.hasReaction(row.id, payload.emoji, payload.actor))) return
            yield* repo.removeReaction(row.id, payload.emoji, payload.actor)
            yield* emit(Ev.MessageReactionRemove, { msg_id: row.id, feed_id: feedId, user_id: payload.actor, emoji: payload.emoji }, audience)
          })
        ).pipe(dieOnStorageError),

      Pin: ({ payload }) =>
        write((emit) =>
          Effect.gen(function* () {
            const row = yield* message(payload.msg_id)
            if (yield* repo.isPinned(row.id)) return
            if ((yield* repo.pinCount(feedId)) >= MAX_PINS_PER_FEED) {
              return yield* new PinLimitReached({ message: `A feed holds at most ${MAX_PINS_PER_FEED} pinned messages.`, max: MAX_PINS_PER_FEED })
            }
            yield* repo.pin(feedId, row.id, payload.actor)
            yield* emit(Ev.MessagePinUpdate, { msg_id: row.id, feed_id: feedId, pinned: true }, audience)
          })
        ).pipe(dieOnStorageError),

      Unpin: ({ payload }) =>
        write((emit) =>
          Effect.gen(function* () {
            const row = yield* message(payload.msg_id)
            if (!(yield* repo.isPinned(row.id))) return
            yield* repo.unpin(row.id)
            yield* emit(Ev.MessagePinUpdate, { msg_id: row.id, feed_id: feedId, pinned: false }, audience)
          })
        ).pipe(dieOnStorageError),

      Pins: () => Rpc.fork(repo.pins(feedId).pipe(Effect.map((pins) => ({ pins })), dieOnStorageError)),

      CreateThread: ({ payload }) => createThread(payload.actor, payload.thread).pipe(dieOnStorageError),

      UpdateThread: ({ payload }) =>
        updateThread(payload.actor, payload.permissions, payload.thread_id, payload.patch).pipe(dieOnStorageError),

      Threads: ({ payload }) =>
        Rpc.fork(
          Effect.gen(function* () {
            const { archived, after, limit } = payload.query
            const cursor = after === undefined ? Either.right(undefined) : decodeCursor(ThreadCursor, after)
            if (Either.isLeft(cursor)) return yield* new InvalidBody({ location: "query", message: "Invalid cursor" })
            const pageSize = limit ?? DEFAULT_THREAD_LIMIT
            const rows = yield* repo.threadsPage(feedId, { archived: archived ?? false, before: cursor.right?.id, limit: pageSize })
            const last = rows[rows.length - 1]
            return {
              items: rows.map(toThread),
              cursor: rows.length < pageSize || last === undefined ? null : encodeCursor({ id: last.id })
            }
          }).pipe(dieOnStorageError)
        ),

      DeleteThread: ({ payload }) =>
        write((emit) =>
          Effect.gen(function* () {
            const row = yield* thread(payload.thread_id)
            yield* repo.removeThread(row.id)
            yield* emit(Ev.ThreadDelete, { thread_id: row.id, feed_id: feedId }, audience)
            yield* repo.audit({
              event_type: "thread.delete",
              actor_id: payload.actor,
              target_id: row.id,
              metadata: { feed_id: feedId, thread_id: row.id, name: row.name }
            })
          })
        ).pipe(dieOnStorageError),

      Subscribe: ({ payload }) =>
        write(() =>
          Effect.gen(function* () {
            const row = yield* thread(payload.thread_id)
            yield* repo.subscribe(row.id, payload.actor)
          })
        ).pipe(dieOnStorageError),

      Unsubscribe: ({ payload }) =>
        write(() =>
          Effect.gen(function* () {
            const row = yield* thread(payload.thread_id)
            yield* repo.unsubscribe(row.id, payload.actor)
          })
        ).pipe(dieOnStorageError)
    })
  })
).pipe(Layer.provide(FeedRepo.Default))
