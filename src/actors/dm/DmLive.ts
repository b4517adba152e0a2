// Behaviour of the Dm entity. Its writes run one at a time (the write lock), each in one transaction
// with the events it emits (published after the commit); reads are forked beside them. Every call
// first makes sure its caller is a participant; every event goes to the DM's participants alone.
import { Entity } from "@effect/cluster"
import { Rpc } from "@effect/rpc"
import { Effect, Layer, Option } from "effect"
import type { Dm as DmInfo, SendDmMessage, UpdateDm } from "../../protocol/api/dms.js"
import { FileNotFound, Forbidden, InvalidBody, LimitReached, MessageNotFound, UserNotFound } from "../../protocol/errors.js"
import * as Ev from "../../protocol/events.js"
import { DmId, type UserId } from "../../protocol/ids.js"
import type { Snowflake } from "../../protocol/snowflake.js"
import { dieOnStorageError } from "../../runtime/db/storageErrors.js"
import { type Emit, Events } from "../../runtime/events/Events.js"
import { Snowflakes } from "../../runtime/ids/Snowflakes.js"
import { readLimits } from "../community/limits/limits.js"
import { seconds } from "../feed/FeedRepo.js"
import { checkDmAllowed, checkDmOpen } from "./allowed.js"
import { Dm } from "./Dm.js"
import { DmDirectory } from "./DmDirectory.js"
import { DmRepo, type DmMessageRow, toDmMessage } from "./DmRepo.js"
import { checkDmBody, groupOnly, notParticipant, toUsers, tooManyParticipants } from "./rules.js"
import { makeFileRepo } from "../../runtime/files/FileRepo.js"

const DEFAULT_HISTORY_LIMIT = 50

const DmEntityLive = Dm.toLayer(
  Effect.gen(function* () {
    const address = yield* Entity.CurrentAddress
    const repo = yield* DmRepo
    const files = yield* makeFileRepo
    const events = yield* Events
    const snowflakes = yield* Snowflakes
    const dmId = DmId.make(Number(address.entityId))

    // One write of this DM at a time: its messages have one order, and on PostgreSQL no two of its
    // transactions interleave their checks and changes.
    const lock = yield* Effect.makeSemaphore(1)
    const write = <A, E, R>(body: (emit: Emit) => Effect.Effect<A, E, R>) => lock.withPermits(1)(events.transact(body))

    /** The caller's place in the DM; 403 when they have none (or the DM does not exist). */
    const participant = (actor: UserId) =>
      Effect.flatMap(repo.recipient(dmId, actor), Option.match({
        onNone: () => Effect.fail(notParticipant),
        onSome: Effect.succeed
      }))

    /** The DM as it stands (in the caller's transaction); it exists once someone is in it. */
    const current = Effect.flatMap(repo.view(dmId), Option.match({
      onNone: () => Effect.dieMessage(`DM ${dmId} has participants but no row`),
      onSome: Effect.succeed
    }))

    const message = (id: Snowflake) =>
      Effect.flatMap(repo.findMessage(dmId, id), Option.match({
        onNone: () => Effect.fail(new MessageNotFound()),
        onSome: Effect.succeed
      }))

    /** The group DM the caller is in; refused for a 1:1 DM. */
    const group = (actor: UserId, what: string) =>
      Effect.gen(function* () {
        yield* participant(actor)
        const dm = yield* current
        if (!dm.is_group) return yield* groupOnly(what)
        return dm
      })

    /** A retried send (same author, same nonce): the first attempt's answer, if it went to this DM. */
    const original = (prior: { readonly id: Snowflake; readonly dm_id: DmId; readonly created_at: number }) =>
      prior.dm_id === dmId
        ? Effect.succeed({ msg_id: prior.id, timestamp: seconds(prior.created_at) })
        : Effect.fail(new InvalidBody({ message: "This nonce was already used for a message in another DM.", location: "body" }))

    const send = (actor: UserId, input: SendDmMessage) =>
      write((emit) =>
        Effect.gen(function* () {
          yield* participant(actor)
          // A retry is answered before anything else: the first attempt already passed every check.
          if (input.nonce !== undefined) {
            const prior = yield* repo.findByNonce(actor, input.nonce)
            if (Option.isSome(prior)) return yield* original(prior.value)
          }
          yield* checkDmOpen(yield* current)
          const attachments = input.attachments ?? []
          yield* checkDmBody(input.body, (yield* readLimits).max_dm_message_bytes, attachments.length > 0)
          if (input.reply_to !== undefined && Option.isNone(yield* repo.findMessage(dmId, input.reply_to))) {
            return yield* new MessageNotFound({ message: "The message replied to is not in this DM." })
          }
          const id = yield* snowflakes.next
          // An attachment is a file uploaded to this very DM: its download is checked against this
          // DM's participants, so a file of another DM or of a feed cannot be shown here. The last
          // check, because it writes: the files are claimed for this message (see FileRepo.claim).
          const claimed = yield* files.claim({ dm_id: dmId }, attachments, id)
          if (attachments.some((file) => !claimed.has(file))) {
            return yield* new FileNotFound({ message: "An attached file was not uploaded to this DM." })
          }
          const row: DmMessageRow = {
            id,
            dm_id: dmId,
            author_id: actor,
            body: input.body,
            reply_to: input.reply_to ?? null,
            attachments,
            created_at: Date.now(),
            edited_at: null
          }
          if (!(yield* repo.insertMessage({ ...row, nonce: input.nonce ?? null }))) {
            // The same author's same nonce was just committed by another DM's entity.
            yield* files.unclaim(row.id)
            const prior = yield* repo.findByNonce(actor, input.nonce!)
            if (Option.isSome(prior)) return yield* original(prior.value)
            return yield* Effect.dieMessage("a DM message nonce conflicted with no stored message")
          }
          yield* repo.reopenForAll(dmId)
          yield* emit(Ev.DmMessageCreate, toDmMessage(row), toUsers(yield* repo.participantIds(dmId)))
          return { msg_id: row.id, timestamp: seconds(row.created_at) }
        })
      )

    const update = (actor: UserId, patch: UpdateDm) =>
      write((emit) =>
        Effect.gen(function* () {
          const dm = yield* group(actor, "has a name and an icon")
          const next = { name: patch.name === undefined ? dm.name : patch.name, icon: patch.icon === undefined ? dm.icon : patch.icon }
          if (next.name === dm.name && next.icon === dm.icon) return dm
          yield* repo.updateGroup(dmId, { ...next, owner_id: dm.owner_id })
          const updated: DmInfo = { ...dm, ...next }
          yield* emit(Ev.DmUpdate, updated, toUsers(updated.participant_ids))
          return updated
        })
      )

    const addRecipient = (actor: UserId, userId: UserId) =>
      write((emit) =>
        Effect.gen(function* () {
          const dm = yield* group(actor, "takes more participants")
          if (dm.participant_ids.includes(userId)) return
          if (!(yield* repo.existingUsers([userId])).has(userId)) return yield* new UserNotFound()
          yield* checkDmAllowed(actor, userId)
          const max = (yield* readLimits).max_group_dm_participants
          if (dm.participant_ids.length + 1 > max) {
            return yield* tooManyParticipants(max)
          }
          yield* repo.addRecipients(dmId, [userId], Date.now())
          const now = yield* current
          yield* emit(Ev.DmRecipientAdd, { dm_id: dmId, user_id: userId }, toUsers(now.participant_ids))
          // The newcomer learns the whole DM, as if it had just been opened with them.
          yield* emit(Ev.DmCreate, now, toUsers([userId]))
        })
      )

    const removeRecipient = (actor: UserId, userId: UserId) =>
      write((emit) =>
        Effect.gen(function* () {
          const dm = yield* group(actor, "has participants to remove")
          if (userId !== actor && dm.owner_id !== actor) {
            return yield* new Forbidden({ message: "Only the group's owner can remove others; anyone can leave." })
          }
          if (!dm.participant_ids.includes(userId)) return
          yield* repo.removeRecipient(dmId, userId)
          // The one removed hears it too: their client drops the DM.
          yield* emit(Ev.DmRecipientRemove, { dm_id: dmId, user_id: userId }, toUsers(dm.participant_ids))
          if (dm.owner_id === userId) {
            // An owner who leaves hands the group to whoever has been in it longest.
            const remaining = dm.participant_ids.filter((id) => id !== userId)
            const heir = remaining[0] ?? null
            yield* repo.updateGroup(dmId, { name: dm.name, icon: dm.icon, owner_id: heir })
            if (heir !== null) yield* emit(Ev.DmUpdate, yield* current, toUsers(remaining))
          }
        })
      )

    const markRead = (actor: UserId, upTo: Snowflake) =>
      write((emit) =>
        Effect.gen(function* () {
          const me = yield* participant(actor)
          yield* checkDmOpen(yield* current)
          yield* message(upTo)
          // Receipts only move forward: an older or repeated one changes nothing and tells nobody.
          if (me.last_read_msg_id !== null && me.last_read_msg_id >= upTo) return
          yield* repo.setLastRead(dmId, actor, upTo)
          const others = (yield* repo.participantIds(dmId)).filter((id) => id !== actor)
          if (others.length > 0) yield* emit(Ev.DmReadNotify, { dm_id: dmId, user_id: actor, up_to_msg_id: upTo }, toUsers(others))
        })
      )

    return Dm.of({
      Get: ({ payload }) =>
        Rpc.fork(Effect.zipRight(participant(payload.actor), current).pipe(dieOnStorageError)),

      Close: ({ payload }) =>
        write(() => Effect.zipRight(participant(payload.actor), repo.setClosed(dmId, payload.actor, true))).pipe(dieOnStorageError),

      Update: ({ payload }) => update(payload.actor, payload.patch).pipe(dieOnStorageError),

      AddRecipient: ({ payload }) => addRecipient(payload.actor, payload.user_id).pipe(dieOnStorageError),

      RemoveRecipient: ({ payload }) => removeRecipient(payload.actor, payload.user_id).pipe(dieOnStorageError),

      MarkRead: ({ payload }) => markRead(payload.actor, payload.up_to_msg_id).pipe(dieOnStorageError),

      Send: ({ payload }) => send(payload.actor, payload.message).pipe(dieOnStorageError),

      History: ({ payload }) =>
        Rpc.fork(
          Effect.gen(function* () {
            yield* participant(payload.actor)
            const rows = yield* repo.page(dmId, {
              before: payload.query.before,
              after: payload.query.after,
              limit: payload.query.limit ?? DEFAULT_HISTORY_LIMIT
            })
            return { messages: yield* repo.hydrate(rows) }
          }).pipe(dieOnStorageError)
        ),

      Edit: ({ payload }) =>
        write((emit) =>
          Effect.gen(function* () {
            yield* participant(payload.actor)
            yield* checkDmOpen(yield* current)
            const row = yield* message(payload.msg_id)
            if (row.author_id !== payload.actor) return yield* new Forbidden({ message: "Only the author can edit a message." })
            yield* checkDmBody(payload.body, (yield* readLimits).max_dm_message_bytes, row.attachments.length > 0)
            const now = Date.now()
            yield* repo.editBody(row.id, payload.body, now)
            const edit_timestamp = seconds(now)
            yield* emit(
              Ev.DmMessageUpdate,
              { msg_id: row.id, dm_id: dmId, body: payload.body, edit_timestamp },
              toUsers(yield* repo.participantIds(dmId))
            )
            return { msg_id: row.id, edit_timestamp }
          })
        ).pipe(dieOnStorageError),

      Delete: ({ payload }) =>
        write((emit) =>
          Effect.gen(function* () {
            yield* participant(payload.actor)
            yield* checkDmOpen(yield* current)
            const row = yield* message(payload.msg_id)
            if (row.author_id !== payload.actor) return yield* new Forbidden({ message: "Only the author can delete a DM message." })
            yield* repo.removeMessage(row.id)
            yield* emit(Ev.DmMessageDelete, { msg_id: row.id, dm_id: dmId }, toUsers(yield* repo.participantIds(dmId)))
          })
        ).pipe(dieOnStorageError),

      AddReaction: ({ payload }) =>
        write((emit) =>
          Effect.gen(function* () {
            yield* participant(payload.actor)
            yield* checkDmOpen(yield* current)
            const row = yield* message(payload.msg_id)
            if (yield* repo.hasReaction(row.id, payload.emoji, payload.actor)) return
            const emojis = yield* repo.emojisOn(row.id)
            const max = (yield* readLimits).max_reactions_per_message
            if (!emojis.has(payload.emoji) && emojis.size >= max) {
              return yield* new LimitReached({
                message: `A message carries at most ${max} different reactions.`,
                limit: "max_reactions_per_message",
                max
              })
            }
            yield* repo.addReaction(row.id, payload.emoji, payload.actor)
            yield* emit(
              Ev.DmMessageReactionAdd,
              { msg_id: row.id, dm_id: dmId, user_id: payload.actor, emoji: payload.emoji },
              toUsers(yield* repo.participantIds(dmId))
            )
          })
        ).pipe(dieOnStorageError),

      RemoveReaction: ({ payload }) =>
        write((emit) =>
          Effect.gen(function* () {
            yield* participant(payload.actor)
            yield* checkDmOpen(yield* current)
            const row = yield* message(payload.msg_id)
            if (!(yield* repo.hasReaction(row.id, payload.emoji, payload.actor))) return
            yield* repo.removeReaction(row.id, payload.emoji, payload.actor)
            yield* emit(
              Ev.DmMessageReactionRemove,
              { msg_id: row.id, dm_id: dmId, user_id: payload.actor, emoji: payload.emoji },
              toUsers(yield* repo.participantIds(dmId))
            )
          })
        ).pipe(dieOnStorageError)
    })
  })
)

/** The Dm entity, and the directory that opens and lists DMs (no entity exists before a DM does). */
export const DmLive = Layer.mergeAll(DmEntityLive, DmDirectory.Default).pipe(Layer.provide(DmRepo.Default))
