// Sends of one feed, committed together: the Feed entity's group commit hands a batch of waiting
// sends to `commit`, which checks each on its own and stores those that pass, all in ONE transaction
// with their events: the messages in one statement, then their events in order. A send that breaks a
// rule fails alone; the others of its batch go on. Ids are taken in order inside the transaction, so
// they increase strictly in commit order.
import type { SqlError } from "@effect/sql/SqlError"
import { Effect, Exit, Option } from "effect"
import type { ParseError } from "effect/ParseResult"
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
import { makeFileRepo } from "../../runtime/files/FileRepo.js"
import { Snowflakes } from "../../runtime/ids/Snowflakes.js"
import { readLimits } from "../community/limits/limits.js"
import { FeedRepo, type NewMessage, seconds, type ThreadRow, toChatMessage, toThread, type Where } from "./FeedRepo.js"
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

/** A send that passed its checks: stored with the rest of its batch. */
interface Prepared {
  readonly row: NewMessage
}

/** What checking one send came to, before the batch is stored. */
type Outcome =
  | { readonly _tag: "stored"; readonly prepared: Prepared }
  /** A retry of a send of this same batch: answered as that one, once it is stored. */
  | { readonly _tag: "retry"; readonly of: Prepared }
  | { readonly _tag: "answered"; readonly sent: SentMessage }

/** What every send of a batch shares, read once per batch inside its transaction. */
interface BatchState {
  readonly feed: Option.Option<{ readonly type: FeedType; readonly slowmode_seconds: number }>
  readonly limits: ServerLimits
  /** Threads of the feed looked at in this batch, as this batch has left them. */
  readonly threads: Map<ThreadId, Option.Option<ThreadRow>>
  /** When each author's last message of this batch was sent (ms): slowmode within the batch. */
  readonly sentNow: Map<UserId, number>
  /** The sends of this batch that will be stored, in order. */
  readonly prepared: Array<Prepared>
  /** The same, by `author:nonce`, and by message id: what a later send of the batch can refer to. */
  readonly byNonce: Map<string, Prepared>
  readonly byId: Map<string, Prepared>
  /** Archived threads this batch's messages bring back: done after the first of them is stored. */
  readonly revivals: Map<ThreadId, ThreadRow>
  readonly emit: Emit
}

export const makeSendBatch = (feedId: FeedId, audience: Audience) =>
  Effect.gen(function* () {
    const repo = yield* FeedRepo
    const events = yield* Events
    const snowflakes = yield* Snowflakes
    const files = yield* makeFileRepo

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

    /** Checks one send; fails with its own error, or with SqlError for the whole batch. */
    const checkOne = (state: BatchState, item: SendItem) =>
      Effect.gen(function* () {
        const { actor, permissions, where, message: input } = item
        // A retry is answered before anything else: the first attempt already passed every check.
        if (input.nonce !== undefined) {
          const pending = state.byNonce.get(`${actor}:${input.nonce}`)
          if (pending !== undefined) {
            const { row } = pending
            yield* original({ id: row.id, feed_id: row.feed_id, thread_id: row.thread_id, created_at: row.created_at }, where)
            return { _tag: "retry", of: pending } satisfies Outcome
          }
          const prior = yield* repo.findByNonce(actor, input.nonce)
          if (Option.isSome(prior)) return { _tag: "answered", sent: yield* original(prior.value, where) } satisfies Outcome
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
        if (input.mentions !== undefined && input.mentions.length > 0) yield* checkMentions(input.mentions, permissions)
        if (input.reply_to !== undefined && !repliesWithinBatch(state, input.reply_to, where) && Option.isNone(yield* repo.find(feedId, input.reply_to, where))) {
          return yield* new MessageNotFound({
            message: where === null ? "The message replied to is not in this feed." : "The message replied to is not in this thread."
          })
        }
        const now = Date.now()
        if (feed.slowmode_seconds > 0) yield* checkSlowmode(state, feed.slowmode_seconds, item, now)
        const id = yield* snowflakes.next
        // An attachment is a file uploaded to this very feed: its download is checked against this
        // feed's permissions, so a file of another feed cannot be shown here. The last check, because
        // it writes: the files are claimed for this message, which keeps the sweep off them (FileRepo).
        if (attachments.length > 0) {
          const claimed = yield* files.claim({ feed_id: feedId }, attachments, id)
          if (attachments.some((file) => !claimed.has(file))) {
            // the batch's transaction commits the other sends: this one's claims are given back
            if (claimed.size > 0) yield* files.unclaim(id)
            return yield* new FileNotFound({ message: "An attached file was not uploaded to this feed." })
          }
        }
        const row: NewMessage = {
          id,
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
          nonce: input.nonce ?? null
        }
        const prepared: Prepared = { row }
        state.prepared.push(prepared)
        state.byId.set(row.id.toString(), prepared)
        if (row.nonce !== null) state.byNonce.set(`${actor}:${row.nonce}`, prepared)
        state.sentNow.set(actor, now)
        // A new message brings an archived thread back (as Discord does), rather than being refused.
        if (inThread !== null && inThread.archived) {
          const revived = { ...inThread, archived: false }
          state.threads.set(inThread.id, Option.some(revived))
          state.revivals.set(inThread.id, revived)
        }
        return { _tag: "stored", prepared } satisfies Outcome
      })

    /** Whether `replyTo` is a message of this batch, in the same place. */
    const repliesWithinBatch = (state: BatchState, replyTo: Snowflake, where: Where) =>
      state.byId.get(replyTo.toString())?.row.thread_id === where

    /**
     * A checked send once its batch is stored: its events, and its answer. One the store left out
     * (its nonce was taken meanwhile by another feed's send) is answered as that send.
     */
    const finish = (state: BatchState, prepared: Prepared, stored: ReadonlySet<string>) =>
      Effect.gen(function* () {
        const { row } = prepared
        if (!stored.has(row.id.toString())) {
          yield* files.unclaim(row.id)
          const prior = yield* repo.findByNonce(row.author_id, row.nonce!)
          if (Option.isSome(prior)) return yield* original(prior.value, row.thread_id)
          return yield* Effect.dieMessage("a message nonce conflicted with no stored message")
        }
        yield* state.emit(Ev.MessageCreate, toChatMessage({ ...row, edited_at: null }), audience)
        const revived = row.thread_id === null ? undefined : state.revivals.get(row.thread_id)
        if (revived !== undefined) {
          state.revivals.delete(revived.id)
          yield* repo.updateThread(revived.id, revived)
          yield* state.emit(Ev.ThreadUpdate, toThread(revived), audience)
        }
        return { msg_id: row.id, timestamp: seconds(row.created_at) }
      })

    /** A rule a send breaks fails that send; a storage failure fails the transaction. */
    const ownExit = <A, R>(effect: Effect.Effect<A, SendError | SqlError | ParseError, R>) =>
      effect.pipe(
        Effect.map((a) => Exit.succeed(a) as Exit.Exit<A, SendError>),
        Effect.catchAll((error) =>
          error._tag === "SqlError" || error._tag === "ParseError"
            ? Effect.fail(error)
            : Effect.succeed(Exit.fail<SendError>(error)))
      )

    /** Commits a batch of sends in one transaction; each send gets its own exit, in order. */
    const commit = (items: ReadonlyArray<SendItem>) =>
      events.transact((emit) =>
        Effect.gen(function* () {
          const state: BatchState = {
            feed: yield* repo.feedSettings(feedId),
            limits: yield* readLimits,
            threads: new Map(),
            sentNow: new Map(),
            prepared: [],
            byNonce: new Map(),
            byId: new Map(),
            revivals: new Map(),
            emit
          }
          const outcomes: Array<Exit.Exit<Outcome, SendError>> = []
          for (const item of items) outcomes.push(yield* ownExit(checkOne(state, item)))
          const stored = yield* repo.insertMany(state.prepared.map((p) => p.row))
          const answers = new Map<Prepared, Exit.Exit<SentMessage, SendError>>()
          const exits: Array<Exit.Exit<SentMessage, SendError>> = []
          for (const outcome of outcomes) {
            if (Exit.isFailure(outcome)) {
              exits.push(Exit.failCause(outcome.cause))
              continue
            }
            const o = outcome.value
            if (o._tag === "answered") exits.push(Exit.succeed(o.sent))
            else if (o._tag === "retry") exits.push(answers.get(o.of)!)
            else {
              const answer = yield* ownExit(finish(state, o.prepared, stored))
              answers.set(o.prepared, answer)
              exits.push(answer)
            }
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
