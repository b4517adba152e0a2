// Blocks, friends and dm-settings (seed 002 §12). Every change between two users runs in one
// transaction that first takes the pair's lock (RelationshipRepo.lockPair), so a block and a friend
// request of the same two users, or two crossing requests, never interleave: the later one sees what
// the earlier one did. Events go to the two users concerned and nobody else; a block only to the
// sessions of whoever made it.
import { Effect, Either, Option, Schema } from "effect"
import type { BlockedUser, DmPermission, Friend, FriendsQuery } from "../../protocol/api/relationships.js"
import { InvalidBody, UserBlocked, UserNotFound } from "../../protocol/errors.js"
import * as Ev from "../../protocol/events.js"
import type { UserId } from "../../protocol/ids.js"
import { decodeCursor, encodeCursor } from "../../protocol/pagination.js"
import { dieOnStorageError } from "../../runtime/db/storageErrors.js"
import { Events } from "../../runtime/events/Events.js"
import { type Person, RelationshipRepo } from "./RelationshipRepo.js"

const DEFAULT_PAGE = 50
const Cursor = Schema.Struct({ id: Schema.Number })

const toUsers = (...ids: ReadonlyArray<UserId>): Ev.Audience => ({ _tag: "users", user_ids: ids })

const iso = (ms: number) => new Date(ms).toISOString()

const person = (p: Person) => ({ user_id: p.user_id, username: p.username, display_name: p.display_name, avatar: p.avatar })

/** One page of at most `limit` items; `fetch` is asked for one more, which tells whether another page follows. */
const paged = <A extends { readonly user_id: number }, E, R>(
  query: { readonly limit?: number | undefined; readonly after?: string | undefined },
  fetch: (after: number, limit: number) => Effect.Effect<ReadonlyArray<A>, E, R>
) =>
  Effect.gen(function* () {
    const limit = query.limit ?? DEFAULT_PAGE
    const after = query.after === undefined
      ? 0
      : yield* Either.match(decodeCursor(Cursor, query.after), {
        onLeft: (message) => Effect.fail(new InvalidBody({ message, location: "query" })),
        onRight: (c) => Effect.succeed(c.id)
      })
    const rows = yield* fetch(after, limit + 1)
    const items = rows.slice(0, limit)
    const last = items.at(-1)
    return { items, cursor: rows.length > limit && last !== undefined ? encodeCursor({ id: last.user_id }) : null }
  })

export class Relationships extends Effect.Service<Relationships>()("vox/Relationships", {
  effect: Effect.gen(function* () {
    const repo = yield* RelationshipRepo
    const events = yield* Events

    /** Someone else who exists: the other side of a relationship. */
    const requireOther = (actor: UserId, target: UserId, what: string) =>
      Effect.gen(function* () {
        if (target === actor) return yield* new InvalidBody({ message: `You cannot ${what} yourself.`, location: "path" })
        if (!(yield* repo.userExists(target))) return yield* new UserNotFound()
      })

    /** Blocks `target`: whatever friendship or request the two had ends with it. True when the block is new. */
    const block = (actor: UserId, target: UserId) =>
      events.transact((emit) =>
        Effect.gen(function* () {
          yield* requireOther(actor, target, "block")
          yield* repo.lockPair(actor, target)
          const now = Date.now()
          if (!(yield* repo.insertBlock(actor, target, now))) return false
          if (yield* repo.deleteFriendship(actor, target)) {
            yield* emit(Ev.FriendRemove, { user_id: actor, target_id: target }, toUsers(actor, target))
          }
          yield* emit(Ev.BlockAdd, { user_id: actor, target_id: target }, toUsers(actor))
          return true
        })
      ).pipe(dieOnStorageError)

    /** True when there was a block to lift. */
    const unblock = (actor: UserId, target: UserId) =>
      events.transact((emit) =>
        Effect.gen(function* () {
          yield* requireOther(actor, target, "unblock")
          yield* repo.lockPair(actor, target)
          if (!(yield* repo.deleteBlock(actor, target))) return false
          yield* emit(Ev.BlockRemove, { user_id: actor, target_id: target }, toUsers(actor))
          return true
        })
      ).pipe(dieOnStorageError)

    /** A request to `target`, or the acceptance of theirs. */
    const addFriend = (actor: UserId, target: UserId) =>
      events.transact((emit) =>
        Effect.gen(function* () {
          yield* requireOther(actor, target, "befriend")
          yield* repo.lockPair(actor, target)
          if (yield* repo.blockedEitherWay(actor, target)) return yield* new UserBlocked()
          const existing = yield* repo.friendship(actor, target)
          const now = Date.now()
          if (Option.isNone(existing)) {
            yield* repo.insertRequest(actor, target, now)
            yield* emit(Ev.FriendRequest, { user_id: actor, target_id: target, status: "pending" }, toUsers(actor, target))
            return
          }
          // Already friends, or asked already: nothing new.
          if (existing.value.accepted_at !== null || existing.value.requester_id === actor) return
          yield* repo.accept(actor, target, now)
          yield* emit(Ev.FriendRequest, { user_id: actor, target_id: target, status: "accepted" }, toUsers(actor, target))
        })
      ).pipe(dieOnStorageError)

    /** Ends a friendship, or cancels or declines a request. */
    const removeFriend = (actor: UserId, target: UserId) =>
      events.transact((emit) =>
        Effect.gen(function* () {
          yield* requireOther(actor, target, "unfriend")
          yield* repo.lockPair(actor, target)
          if (yield* repo.deleteFriendship(actor, target)) {
            yield* emit(Ev.FriendRemove, { user_id: actor, target_id: target }, toUsers(actor, target))
          }
        })
      ).pipe(dieOnStorageError)

    const listFriends = (actor: UserId, query: FriendsQuery) =>
      paged(query, (after, limit) => repo.friendsPage(actor, query.relationship, after, limit)).pipe(
        Effect.map((page) => ({
          cursor: page.cursor,
          items: page.items.map((f): Friend => ({ ...person(f), relationship: f.relationship, since: iso(f.since) }))
        })),
        dieOnStorageError
      )

    const listBlocks = (actor: UserId, query: { readonly limit?: number | undefined; readonly after?: string | undefined }) =>
      paged(query, (after, limit) => repo.blocksPage(actor, after, limit)).pipe(
        Effect.map((page) => ({
          cursor: page.cursor,
          items: page.items.map((b): BlockedUser => ({ ...person(b), since: iso(b.since) }))
        })),
        dieOnStorageError
      )

    const dmSettings = (actor: UserId) =>
      Effect.map(repo.dmPermission(actor), (dm_permission) => ({ dm_permission })).pipe(dieOnStorageError)

    const setDmSettings = (actor: UserId, dm_permission: DmPermission) =>
      Effect.as(repo.setDmPermission(actor, dm_permission), { dm_permission }).pipe(dieOnStorageError)

    return { block, unblock, addFriend, removeFriend, listFriends, listBlocks, dmSettings, setDmSettings } as const
  }),
  dependencies: [RelationshipRepo.Default]
}) {}
