// Opening and listing DMs: what comes before a DM has an entity of its own. A 1:1 DM is found or
// created by its pair in one transaction, under the unique index on the pair, so two simultaneous
// opens of the same pair both end with the one DM. Beyond creating a DM (its first participants) and
// showing a closed one again to whoever reopens it, participants are the Dm entity's to change.
import { Effect, Option } from "effect"
import { InvalidBody, UserNotFound } from "../../protocol/errors.js"
import * as Ev from "../../protocol/events.js"
import type { DmId, UserId } from "../../protocol/ids.js"
import { dieOnStorageError } from "../../runtime/db/storageErrors.js"
import { Events } from "../../runtime/events/Events.js"
import { readLimits } from "../community/limits/limits.js"
import { checkDmAllowed, checkNotBlocked } from "./allowed.js"
import { DmRepo } from "./DmRepo.js"
import { toUsers, tooManyParticipants } from "./rules.js"

export class DmDirectory extends Effect.Service<DmDirectory>()("vox/DmDirectory", {
  effect: Effect.gen(function* () {
    const repo = yield* DmRepo
    const events = yield* Events

    const view = (dmId: DmId) =>
      Effect.flatMap(repo.view(dmId), Option.match({
        onNone: () => Effect.dieMessage(`DM ${dmId} vanished while being opened`),
        onSome: Effect.succeed
      }))

    const requireUsers = (ids: ReadonlyArray<UserId>) =>
      Effect.gen(function* () {
        const found = yield* repo.existingUsers(ids)
        if (ids.some((id) => !found.has(id))) return yield* new UserNotFound()
      })

    /**
     * The pair's DM, created if it does not exist (`created`), and shown again to the caller if they
     * had closed it.
     */
    const openDirect = (actor: UserId, recipient: UserId) =>
      events.transact((emit) =>
        Effect.gen(function* () {
          if (recipient === actor) {
            return yield* new InvalidBody({ message: "A DM needs someone besides you.", location: "body" })
          }
          yield* requireUsers([recipient])
          // The recipient's dm-settings judge a new DM; the pair's existing one is reopened whatever they say.
          const known = yield* repo.findPair(actor, recipient)
          yield* (Option.isSome(known) ? checkNotBlocked(actor, recipient) : checkDmAllowed(actor, recipient))
          const now = Date.now()
          const inserted = yield* repo.insertPair(actor, recipient, now)
          if (Option.isSome(inserted)) {
            yield* repo.addRecipients(inserted.value, [actor, recipient], now)
            const dm = yield* view(inserted.value)
            yield* emit(Ev.DmCreate, dm, toUsers(dm.participant_ids))
            return { dm, created: true }
          }
          // Made by an earlier open, perhaps one committed a moment ago (its insert was waited for).
          const existing = yield* Effect.flatMap(repo.findPair(actor, recipient), Option.match({
            onNone: () => Effect.dieMessage("a DM pair conflicted with no stored DM"),
            onSome: Effect.succeed
          }))
          const me = yield* repo.recipient(existing, actor)
          const dm = yield* view(existing)
          if (Option.isSome(me) && me.value.closed) {
            yield* repo.setClosed(existing, actor, false)
            // The caller's other sessions show it again too.
            yield* emit(Ev.DmCreate, dm, toUsers([actor]))
          }
          return { dm, created: false }
        })
      ).pipe(dieOnStorageError)

    /** A new group DM of the caller (its owner) and these users. */
    const openGroup = (actor: UserId, recipientIds: ReadonlyArray<UserId>, name: string | null) =>
      events.transact((emit) =>
        Effect.gen(function* () {
          const others = [...new Set(recipientIds)].filter((id) => id !== actor)
          if (others.length === 0) {
            return yield* new InvalidBody({ message: "A group DM needs someone besides you.", location: "body" })
          }
          const max = (yield* readLimits).max_group_dm_participants
          if (others.length + 1 > max) return yield* tooManyParticipants(max)
          yield* requireUsers(others)
          for (const id of others) yield* checkDmAllowed(actor, id)
          const now = Date.now()
          const dmId = yield* repo.insertGroup(actor, name, now)
          yield* repo.addRecipients(dmId, [actor, ...others], now)
          const dm = yield* view(dmId)
          yield* emit(Ev.DmCreate, dm, toUsers(dm.participant_ids))
          return dm
        })
      ).pipe(dieOnStorageError)

    /** The caller's DMs that they have not closed, most recently active first. */
    const list = (actor: UserId) => repo.listFor(actor).pipe(dieOnStorageError)

    return { openDirect, openGroup, list } as const
  })
}) {}
