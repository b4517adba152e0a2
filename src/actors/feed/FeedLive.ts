// Behaviour of the Feed entity. Writes run one at a time in the entity's mailbox, each in one
// transaction with the events it emits (published after the commit); reads are forked beside them.
import { Entity } from "@effect/cluster"
import { Rpc } from "@effect/rpc"
import { Effect, Layer, Option } from "effect"
import type { SendMessage } from "../../protocol/api/messages.js"
import type { CreateThread, ThreadId, UpdateThread } from "../../protocol/api/threads.js"
import {
  EmptyMessage,
  FileNotFound,
  Forbidden,
  InvalidBody,
  LimitReached,
  MessageNotFound,
  MessageTooLarge,
  PinLimitReached,
  RoleNotFound,
  SpaceNotFound,
  SpaceTypeMismatch,
  ThreadNotFound,
  UserNotFound
} from "../../protocol/errors.js"
import * as Ev from "../../protocol/events.js"
import type { Audience } from "../../protocol/events.js"
import { FeedId, type UserId } from "../../protocol/ids.js"
import { has, Permission, type PermissionName } from "../../protocol/permissions.js"
import type { Snowflake } from "../../protocol/snowflake.js"
import { dieOnStorageError } from "../../runtime/db/storageErrors.js"
import { Events } from "../../runtime/events/Events.js"
import { Snowflakes } from "../../runtime/ids/Snowflakes.js"
import { readLimits } from "../community/limits/limits.js"
import { Feed, MAX_PINS_PER_FEED } from "./Feed.js"
import { FeedRepo, type MessageRow, seconds, toChatMessage, toThread, type Where } from "./FeedRepo.js"

const DEFAULT_HISTORY_LIMIT = 50

const missing = (permission: PermissionName, what: string) =>
  new Forbidden({ message: `You need the ${permission} permission in this feed ${what}.`, missing_permission: permission })

/** Bodies are limited in characters (Unicode code points), not UTF-16 units or bytes. */
const characters = (body: string) => {
  let n = 0
  for (const _ of body) n++
  return n
}

export const FeedLive = Feed.toLayer(
  Effect.gen(function* () {
    const address = yield* Entity.CurrentAddress
    const repo = yield* FeedRepo
    const events = yield* Events
    const snowflakes = yield* Snowflakes
    const feedId = FeedId.make(Number(address.entityId))

    /** Who hears about this feed's messages: those who may see the feed. */
    const audience: Audience = { _tag: "space", space_type: "feed", space_id: feedId, permission: Permission.VIEW_SPACE }

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

    /** A body within the server's limit, and a message that is not empty. */
    const checkBody = (body: string, hasContent: boolean) =>
      Effect.gen(function* () {
        if (body.trim().length === 0 && !hasContent) return yield* new EmptyMessage()
        const limits = yield* readLimits
        if (characters(body) > limits.max_message_length) {
          return yield* new MessageTooLarge({
            message: `The message body is longer than ${limits.max_message_length} characters.`
          })
        }
      })

    /** Mentioned users and roles exist; @everyone and unmentionable roles take MENTION_EVERYONE. */
    const checkMentions = (mentions: SendMessage["mentions"], permissions: bigint) =>
      Effect.gen(function* () {
        const list = mentions ?? []
        const userIds = [...new Set(list.flatMap((m) => ("user_id" in m ? [m.user_id] : [])))]
        const roleIds = [...new Set(list.flatMap((m) => ("role_id" in m ? [m.role_id] : [])))]
        const mayMentionAll = has(permissions, Permission.MENTION_EVERYONE)
        if (list.some((m) => "everyone" in m) && !mayMentionAll) {
          return yield* missing("MENTION_EVERYONE", "to mention @everyone")
        }
        const users = yield* repo.existingUsers(userIds)
        if (userIds.some((id) => !users.has(id))) return yield* new UserNotFound({ message: "A mentioned user does not exist." })
        const roles = yield* repo.rolesById(roleIds)
        for (const id of roleIds) {
          const role = roles.get(id)
          if (role === undefined) return yield* new RoleNotFound({ message: "A mentioned role does not exist." })
          if ((role.is_everyone || !role.mentionable) && !mayMentionAll) {
            return yield* missing("MENTION_EVERYONE", role.is_everyone ? "to mention @everyone" : "to mention a role that is not mentionable")
          }
        }
      })

    /** A retried send: the original message's answer, if it is in this feed (and the same thread). */
    const original = (
      prior: { readonly id: Snowflake; readonly feed_id: number; readonly thread_id: number | null; readonly created_at: number },
      where: Where
    ) =>
      prior.feed_id === feedId && prior.thread_id === where
        ? Effect.succeed({ msg_id: prior.id, timestamp: seconds(prior.created_at) })
        : Effect.fail(new InvalidBody({
          message: "This nonce was already used for a message in another feed or thread.",
          location: "body"
        }))

    const send = (actor: UserId, permissions: bigint, input: SendMessage, where: Where) =>
      events.transact((emit) =>
        Effect.gen(function* () {
          // A retry is answered before anything else: the first attempt already passed every check.
          if (input.nonce !== undefined) {
            const prior = yield* repo.findByNonce(actor, input.nonce)
            if (Option.isSome(prior)) return yield* original(prior.value, where)
          }
          const type = yield* repo.feedType(feedId)
          if (Option.isNone(type)) return yield* new SpaceNotFound()
          const inThread = where === null ? null : yield* thread(where)
          if (inThread === null && type.value === "forum") {
            return yield* new SpaceTypeMismatch({
              message: "Posts in a forum feed are threads: create one with POST /feeds/{feed_id}/threads and send to it."
            })
          }
          if (inThread === null && type.value === "announcement" && !has(permissions, Permission.MANAGE_MESSAGES)) {
            return yield* missing("MANAGE_MESSAGES", "to post in an announcement feed")
          }
          if (inThread !== null && inThread.locked && !has(permissions, Permission.MANAGE_THREADS)) {
            return yield* missing("MANAGE_THREADS", "to post in a locked thread")
          }
          const embeds = input.embeds ?? []
          const attachments = input.attachments ?? []
          yield* checkBody(input.body, embeds.length > 0 || attachments.length > 0)
          if (embeds.length > 0 && !has(permissions, Permission.SEND_EMBEDS)) return yield* missing("SEND_EMBEDS", "to send embeds")
          if (attachments.length > 0 && !has(permissions, Permission.ATTACH_FILES)) {
            return yield* missing("ATTACH_FILES", "to attach files")
          }
          // An attachment is a file uploaded to this very feed: its download is checked against this
          // feed's permissions, so a file of another feed cannot be shown here.
          const uploaded = yield* repo.filesOf(feedId, attachments)
          if (attachments.some((id) => !uploaded.has(id))) {
            return yield* new FileNotFound({ message: "An attached file was not uploaded to this feed." })
          }
          yield* checkMentions(input.mentions, permissions)
          if (input.reply_to !== undefined && Option.isNone(yield* repo.find(feedId, input.reply_to, where))) {
            return yield* new MessageNotFound({
              message: where === null ? "The message replied to is not in this feed." : "The message replied to is not in this thread."
            })
          }
          const row: MessageRow = {
            id: yield* snowflakes.next,
            feed_id: feedId,
            thread_id: where,
            author_id: actor,
            body: input.body,
            reply_to: input.reply_to ?? null,
            mentions: input.mentions ?? [],
            embeds,
            attachments,
            components: input.components ?? [],
            created_at: Date.now(),
            edited_at: null
          }
          yield* repo.insert({ ...row, thread_id: where, nonce: input.nonce ?? null })
          yield* emit(Ev.MessageCreate, toChatMessage(row), audience)
          // A new message brings an archived thread back (as Discord does), rather than being refused.
          if (inThread !== null && inThread.archived) {
            yield* repo.updateThread(inThread.id, { ...inThread, archived: false })
            yield* emit(Ev.ThreadUpdate, toThread({ ...inThread, archived: false }), audience)
          }
          return { msg_id: row.id, timestamp: seconds(row.created_at) }
        })
      ).pipe(
        // The same author's same nonce raced in from another feed's entity: the unique index
        // refused the second row; answer it like any retry.
        Effect.catchTag("SqlError", (error) =>
          Effect.gen(function* () {
            const prior = input.nonce === undefined ? Option.none() : yield* repo.findByNonce(actor, input.nonce)
            return Option.isSome(prior) ? yield* original(prior.value, where) : yield* error
          }))
      )

    const createThread = (actor: UserId, input: CreateThread) =>
      events.transact((emit) =>
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
      events.transact((emit) =>
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
          if (next.name === row.name && next.archived === row.archived && next.locked === row.locked) return toThread(row)
          yield* repo.updateThread(row.id, next)
          const updated = toThread(next)
          yield* emit(Ev.ThreadUpdate, updated, audience)
          return updated
        })
      )

    return Feed.of({
      Send: ({ payload }) =>
        send(payload.actor, payload.permissions, payload.message, payload.thread_id ?? null).pipe(dieOnStorageError),

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
        events.transact((emit) =>
          Effect.gen(function* () {
            const row = yield* message(payload.msg_id)
            if (row.author_id !== payload.actor) return yield* new Forbidden({ message: "Only the author can edit a message." })
            yield* checkBody(payload.body, row.embeds.length > 0 || row.attachments.length > 0)
            const now = Date.now()
            yield* repo.editBody(row.id, payload.body, now)
            const edit_timestamp = seconds(now)
            yield* emit(Ev.MessageUpdate, { msg_id: row.id, feed_id: feedId, body: payload.body, edit_timestamp }, audience)
            return { msg_id: row.id, edit_timestamp }
          })
        ).pipe(dieOnStorageError),

      Delete: ({ payload }) =>
        events.transact((emit) =>
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
        events.transact((emit) =>
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
        events.transact((emit) =>
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
        events.transact((emit) =>
          Effect.gen(function* () {
            const row = yield* message(payload.msg_id)
            if (!(yield* repo.hasReaction(row.id, payload.emoji, payload.actor))) return
            yield* repo.removeReaction(row.id, payload.emoji, payload.actor)
            yield* emit(Ev.MessageReactionRemove, { msg_id: row.id, feed_id: feedId, user_id: payload.actor, emoji: payload.emoji }, audience)
          })
        ).pipe(dieOnStorageError),

      Pin: ({ payload }) =>
        events.transact((emit) =>
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
        events.transact((emit) =>
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

      DeleteThread: ({ payload }) =>
        events.transact((emit) =>
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
        events.transact(() =>
          Effect.gen(function* () {
            const row = yield* thread(payload.thread_id)
            yield* repo.subscribe(row.id, payload.actor)
          })
        ).pipe(dieOnStorageError),

      Unsubscribe: ({ payload }) =>
        events.transact(() =>
          Effect.gen(function* () {
            const row = yield* thread(payload.thread_id)
            yield* repo.unsubscribe(row.id, payload.actor)
          })
        ).pipe(dieOnStorageError)
    })
  })
).pipe(Layer.provide(FeedRepo.Default))
