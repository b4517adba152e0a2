// Sends of one feed, committed together: the Feed entity's group commit hands a batch of waiting
// sends to `commit`, which checks each on its own and stores those that pass, all in ONE transaction
// with their events. A send that breaks a rule fails alone; the others of its batch go on. Ids are
// taken in order inside the transaction, so they increase strictly in commit order.
import { Effect, Exit, Option } from "effect"
import type { SendMessage, SentMessage as SentMessageSchema } from "../../protocol/api/messages.js"
import type { ServerLimits } from "../../protocol/api/server.js"
import type { FeedType } from "../../protocol/api/spaces.js"
import type { ThreadId } from "../../protocol/api/threads.js"
import {
  type EmptyMessage,
  FileNotFound,
  type Forbidden,
  InvalidBody,
  MessageNotFound,
  type MessageTooLarge,
  RateLimited,
  RoleNotFound,
  SpaceNotFound,
  SpaceTypeMismatch,
  ThreadNotFound,
  UserNotFound
} from "../../protocol/errors.js"
import * as Ev from "../../protocol/events.js"
import type { Audience } from "../../protocol/events.js"
import type { FeedId, UserId } from "../../protocol/ids.js"
import { has, Permission, type PermissionSet } from "../../protocol/permissions.js"
import type { Snowflake } from "../../protocol/snowflake.js"
import type { Emit } from "../../runtime/events/Events.js"
import { Events } from "../../runtime/events/Events.js"
import { Snowflakes } from "../../runtime/ids/Snowflakes.js"
import { readLimits } from "../community/limits/limits.js"
import { FeedRepo, type MessageRow, seconds, type ThreadRow, toChatMessage, toThread, type Where } from "./FeedRepo.js"
import { checkBody, missing } from "./rules.js"

type SentMessage = typeof SentMessageSchema.Type

/** One waiting send: who sends what where, with their permissions in the feed. */
export interface SendItem {
  readonly actor: UserId
  readonly permissions: PermissionSet
  readonly where: Where
  readonly message: SendMessage
}

export type SendError =
  | SpaceNotFound
  | SpaceTypeMismatch
  | EmptyMessage
  | MessageTooLarge
  | MessageNotFound
  | UserNotFound
  | RoleNotFound
  | Forbidden
  | InvalidBody
  | ThreadNotFound
  | FileNotFound
  | RateLimited

/** Who slowmode does not hold back: those who moderate the feed's messages or the feed itself. */
const SLOWMODE_EXEMPT = [Permission.MANAGE_MESSAGES, Permission.MANAGE_SPACES]

/** What every send of a batch shares, read once per batch inside its transaction. */
interface BatchState {
  readonly feed: Option.Option<{ readonly type: FeedType; readonly slowmode_seconds: number }>
  readonly limits: ServerLimits
  /** Threads of the feed looked at in this batch, as this batch has left them. */
  readonly threads: Map<ThreadId, Option.Option<ThreadRow>>
  /** When each author's last message of this batch was sent (ms): slowmode within the batch. */
  readonly sentNow: Map<UserId, number>
  readonly emit: Emit
}

export const makeSendBatch = (feedId: FeedId, audience: Audience) =>
  Effect.gen(function* () {
    const repo = yield* FeedRepo
    const events = yield* Events
    const snowflakes = yield* Snowflakes

    /**
     * When each author last sent a message here (ms), for slowmode: learnt from the database the
     * first time an author sends while slowmode is on, then kept as this entity commits their sends.
     */
    const lastSent = new Map<UserId, number>()

    /** A retried send: the original message's answer, if it is in this feed (and the same thread). */
    const original = (
      prior: { readonly id: Snowflake; readonly feed_id: number; readonly thread_id: number | null; readonly created_at: number },
      where: Where
    ) =>
      prior.feed_id === feedId && prior.thread_id === where
        ? Effect.succeed<SentMessage>({ msg_id: prior.id, timestamp: seconds(prior.created_at) })
        : Effect.fail(new InvalidBody({
          message: "This nonce was already used for a message in another feed or thread.",
          location: "body"
        }))

    const thread = (state: BatchState, id: ThreadId) =>
      Effect.gen(function* () {
        const known = state.threads.get(id)
        const found = known ?? (yield* repo.findThread(feedId, id))
        if (known === undefined) state.threads.set(id, found)
        if (Option.isNone(found)) return yield* new ThreadNotFound()
        return found.value
      })

    /** Mentioned users and roles exist; @everyone and unmentionable roles take MENTION_EVERYONE. */
    const checkMentions = (mentions: SendMessage["mentions"], permissions: bigint) =>
      Effect.gen(function* () {
        const list = mentions ?? []
        if (list.length === 0) return
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

    /** Slowmode: one message per `slowmode_seconds` per member, over the feed and its threads. */
    const checkSlowmode = (state: BatchState, slowmodeSeconds: number, item: SendItem, now: number) =>
      Effect.gen(function* () {
        if (slowmodeSeconds <= 0 || SLOWMODE_EXEMPT.some((p) => has(item.permissions, p))) return
        let last = state.sentNow.get(item.actor) ?? lastSent.get(item.actor)
        if (last === undefined) {
          last = Option.getOrElse(yield* repo.lastMessageAt(feedId, item.actor), () => 0)
          lastSent.set(item.actor, last)
        }
        const wait = last + slowmodeSeconds * 1000 - now
        if (wait > 0) {
          return yield* new RateLimited({
            message: `This feed is in slowmode: one message every ${slowmodeSeconds} seconds.`,
            retry_after_ms: wait
          })
        }
      })

    /** Checks one send and stores it; fails with its own error, or with SqlError for the whole batch. */
    const sendOne = (state: BatchState, item: SendItem) =>
      Effect.gen(function* () {
        const { actor, permissions, where, message: input } = item
        // A retry is answered before anything else: the first attempt already passed every check.
        // The lookup runs in the batch's transaction, so it also sees an earlier send of this batch.
        if (input.nonce !== undefined) {
          const prior = yield* repo.findByNonce(actor, input.nonce)
          if (Option.isSome(prior)) return yield* original(prior.value, where)
        }
        if (Option.isNone(state.feed)) return yield* new SpaceNotFound()
        const feed = state.feed.value
        const inThread = where === null ? null : yield* thread(state, where)
        if (inThread === null && feed.type === "forum") {
          return yield* new SpaceTypeMismatch({
            message: "Posts in a forum feed are threads: create one with POST /feeds/{feed_id}/threads and send to it."
          })
        }
        if (inThread === null && feed.type === "announcement" && !has(permissions, Permission.MANAGE_MESSAGES)) {
          return yield* missing("MANAGE_MESSAGES", "to post in an announcement feed")
        }
        if (inThread !== null && inThread.locked && !has(permissions, Permission.MANAGE_THREADS)) {
          return yield* missing("MANAGE_THREADS", "to post in a locked thread")
        }
        const embeds = input.embeds ?? []
        const attachments = input.attachments ?? []
        yield* checkBody(input.body, embeds.length > 0 || attachments.length > 0, state.limits.max_message_length)
        if (embeds.length > 0 && !has(permissions, Permission.SEND_EMBEDS)) return yield* missing("SEND_EMBEDS", "to send embeds")
        if (attachments.length > 0 && !has(permissions, Permission.ATTACH_FILES)) {
          return yield* missing("ATTACH_FILES", "to attach files")
        }
        // An attachment is a file uploaded to this very feed: its download is checked against this
        // feed's permissions, so a file of another feed cannot be shown here.
        if (attachments.length > 0) {
          const uploaded = yield* repo.filesOf(feedId, attachments)
          if (attachments.some((id) => !uploaded.has(id))) {
            return yield* new FileNotFound({ message: "An attached file was not uploaded to this feed." })
          }
        }
        if (input.mentions !== undefined && input.mentions.length > 0) yield* checkMentions(input.mentions, permissions)
        if (input.reply_to !== undefined && Option.isNone(yield* repo.find(feedId, input.reply_to, where))) {
          return yield* new MessageNotFound({
            message: where === null ? "The message replied to is not in this feed." : "The message replied to is not in this thread."
          })
        }
        const now = Date.now()
        if (feed.slowmode_seconds > 0) yield* checkSlowmode(state, feed.slowmode_seconds, item, now)
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
          created_at: now,
          edited_at: null
        }
        if (!(yield* repo.insert({ ...row, thread_id: where, nonce: input.nonce ?? null }))) {
          // The same author's same nonce was just committed by another feed's entity: a retry.
          const prior = yield* repo.findByNonce(actor, input.nonce!)
          if (Option.isSome(prior)) return yield* original(prior.value, where)
          return yield* Effect.dieMessage("a message nonce conflicted with no stored message")
        }
        state.sentNow.set(actor, now)
        yield* state.emit(Ev.MessageCreate, toChatMessage(row), audience)
        // A new message brings an archived thread back (as Discord does), rather than being refused.
        if (inThread !== null && inThread.archived) {
          const revived = { ...inThread, archived: false }
          yield* repo.updateThread(inThread.id, revived)
          state.threads.set(inThread.id, Option.some(revived))
          yield* state.emit(Ev.ThreadUpdate, toThread(revived), audience)
        }
        return { msg_id: row.id, timestamp: seconds(row.created_at) }
      })

    /** Commits a batch of sends in one transaction; each send gets its own exit, in order. */
    const commit = (items: ReadonlyArray<SendItem>) =>
      events.transact((emit) =>
        Effect.gen(function* () {
          const state: BatchState = {
            feed: yield* repo.feedSettings(feedId),
            limits: yield* readLimits,
            threads: new Map(),
            sentNow: new Map(),
            emit
          }
          const exits: Array<Exit.Exit<SentMessage, SendError>> = []
          for (const item of items) {
            exits.push(yield* sendOne(state, item).pipe(
              Effect.map(Exit.succeed),
              // A rule a send breaks fails that send; a storage failure fails the transaction.
              Effect.catchAll((error) =>
                error._tag === "SqlError" || error._tag === "ParseError"
                  ? Effect.fail(error)
                  : Effect.succeed(Exit.fail<SendError>(error)))
            ))
          }
          return { exits, sentNow: state.sentNow }
        })
      ).pipe(
        // Only what committed counts for slowmode.
        Effect.tap(({ sentNow }) => {
          for (const [author, at] of sentNow) lastSent.set(author, at)
          pruneLastSent()
        }),
        Effect.map(({ exits }) => exits)
      )

    /** Forgets authors whose last message is older than any slowmode (6 hours at most), now and then. */
    const pruneLastSent = () => {
      if (lastSent.size < 10_000) return
      const horizon = Date.now() - MAX_SLOWMODE_MS
      for (const [author, at] of lastSent) if (at < horizon) lastSent.delete(author)
    }

    return { commit } as const
  })

/** The longest slowmode a feed can have (src/protocol/api/spaces.ts). */
const MAX_SLOWMODE_MS = 21_600 * 1000
