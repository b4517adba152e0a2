// Presence (seed 002 §4 op 7): what each user set (status, custom status, activity) is kept in the
// `presence` table; whether they are online follows from their live gateway connections on this node.
// Every change others can see is a PRESENCE_UPDATE in the event log, so it is delivered in order with
// everything else and replayed on RESUME. `invisible` is shown to everyone else as `offline`.
// A block hides each of its two users' presence from the other, whoever made it (seed 002 §12: the
// blocked user does not see the blocker; the reference adds the other way): announcements leave out
// everyone on the other side of a block, the READY snapshot and GET /users/{id}/presence show them
// offline, and a new or lifted block tells the two what they now see of each other.
// Presence is community presence: only members are announced, listed and shown online (an account
// outside the community, reachable by DM, is offline to everyone), and a member who leaves, is kicked or
// banned while connected is announced offline at that moment. `shown` keeps what the members were last
// told, so each change is said once, and the user's own sessions, members too, hear it once with them.
//
// One node holds every connection today; a cluster issue moves the connection count into the cluster.
import { SqlClient } from "@effect/sql"
import { Duration, Effect, Fiber, Option, Queue, Schema } from "effect"
import { makeRelationshipRepo } from "../../actors/relationships/RelationshipRepo.js"
import { PresenceUpdate } from "../../protocol/events.js"
import {
  Activity,
  CustomStatus,
  type Presence as PresenceView,
  type PresenceSet,
  PresenceStatus,
  type VisibleStatus
} from "../../protocol/gateway.js"
import type { UserId } from "../../protocol/ids.js"
import { parseJson, stringifyJson } from "../../protocol/json.js"
import { decodeRows, IntColumn } from "../db/columns.js"
import { dieOnStorageError } from "../db/storageErrors.js"
import { EventBus } from "../events/EventBus.js"
import { Events } from "../events/Events.js"

interface Chosen {
  readonly status: PresenceStatus
  readonly custom_status: CustomStatus | null
  readonly activity: Activity | null
}

const DEFAULT: Chosen = { status: "online", custom_status: null, activity: null }

const Row = Schema.Struct({
  status: PresenceStatus,
  custom_status: Schema.NullOr(Schema.String),
  activity: Schema.NullOr(Schema.String)
})
const OnlineRow = Schema.Struct({ user_id: IntColumn })
const decodeCustom = Schema.decodeUnknownOption(CustomStatus)
const decodeActivity = Schema.decodeUnknownOption(Activity)

const fromJson = <A>(text: string | null, decode: (u: unknown) => Option.Option<A>): A | null => {
  if (text === null) return null
  const parsed = parseJson(text)
  return parsed.ok ? Option.getOrNull(decode(parsed.value)) : null
}

const expired = (custom: CustomStatus | null, nowMs: number) =>
  custom?.expiry !== undefined && custom.expiry * 1000 <= nowMs

/** What others see of a user's choice while they are connected. */
const visible = (userId: UserId, chosen: Chosen | undefined, nowMs: number): PresenceView => {
  if (chosen === undefined || chosen.status === "invisible") {
    return { user_id: userId, status: "offline", custom_status: null, activity: null }
  }
  return {
    user_id: userId,
    status: chosen.status as VisibleStatus,
    custom_status: expired(chosen.custom_status, nowMs) ? null : chosen.custom_status,
    activity: chosen.activity
  }
}

const same = (a: PresenceView, b: PresenceView) => stringifyJson(a) === stringifyJson(b)

const offline = (userId: UserId): PresenceView => ({ user_id: userId, status: "offline", custom_status: null, activity: null })

/** A view told earlier, as it reads now: a custom status past its expiry is gone even before its timer runs. */
const asOf = (view: PresenceView, nowMs: number): PresenceView =>
  expired(view.custom_status, nowMs) ? { ...view, custom_status: null } : view

/** Events after which a connected user may have become, or stopped being, someone members see. */
const MEMBERSHIP_EVENTS: ReadonlySet<string> = new Set(["MEMBER_JOIN", "MEMBER_LEAVE", "MEMBER_BAN"])
const Subject = Schema.Struct({ user_id: Schema.Number })
const decodeSubject = Schema.decodeUnknownOption(Subject)

export class Presence extends Effect.Service<Presence>()("vox/gateway/Presence", {
  scoped: Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const events = yield* Events
    const bus = yield* EventBus
    const relationships = yield* makeRelationshipRepo
    /** live connections per user on this node */
    const connections = new Map<number, number>()
    /** the choice of every connected user */
    const chosen = new Map<number, Chosen>()
    const expiryTimers = new Map<number, Fiber.RuntimeFiber<void>>()
    /** what the members were last told of each user they see online (absent: offline) */
    const shown = new Map<number, PresenceView>()
    // One announcement at a time, so `shown` always matches the order of the log.
    const oneAtATime = yield* Effect.makeSemaphore(1)

    const announce = (presence: PresenceView) =>
      events.transact((emit) =>
        Effect.gen(function* () {
          const except = yield* relationships.blockedWith(presence.user_id)
          yield* emit(PresenceUpdate, presence, except.length === 0 ? { _tag: "server" } : { _tag: "server", except })
        })
      )

    const load = (userId: UserId) =>
      sql`SELECT status, custom_status, activity FROM presence WHERE user_id = ${userId}`.pipe(
        Effect.flatMap(decodeRows(Row)),
        Effect.map((rows): Chosen => {
          const row = rows[0]
          if (row === undefined) return DEFAULT
          return {
            status: row.status,
            custom_status: fromJson(row.custom_status, decodeCustom),
            activity: fromJson(row.activity, decodeActivity)
          }
        })
      )

    const store = (userId: UserId, choice: Chosen, online: boolean) =>
      Effect.gen(function* () {
        const row = {
          status: choice.status,
          custom_status: choice.custom_status === null ? null : stringifyJson(choice.custom_status),
          activity: choice.activity === null ? null : stringifyJson(choice.activity),
          online: online ? 1 : 0,
          updated_at: Date.now()
        }
        yield* sql`INSERT INTO presence ${sql.insert({ user_id: userId, ...row })}
          ON CONFLICT (user_id) DO UPDATE SET ${sql.update(row)}`
      })

    /** A custom status with an expiry is cleared, for everyone, when it expires. */
    const scheduleExpiry = (userId: UserId, choice: Chosen): Effect.Effect<void> =>
      Effect.gen(function* () {
        const previous = expiryTimers.get(userId)
        if (previous !== undefined) {
          expiryTimers.delete(userId)
          yield* Fiber.interrupt(previous)
        }
        const expiry = choice.custom_status?.expiry
        if (expiry === undefined) return
        const fiber = yield* Effect.sleep(Duration.millis(Math.max(0, expiry * 1000 - Date.now()))).pipe(
          Effect.zipRight(Effect.suspend((): Effect.Effect<void> => {
            expiryTimers.delete(userId)
            const current = chosen.get(userId)
            if (current === undefined || current.custom_status?.expiry !== expiry) return Effect.void
            return Effect.asVoid(change(userId, { ...current, custom_status: null }))
          })),
          Effect.catchAllCause((cause) => Effect.logWarning("Clearing an expired custom status failed", cause)),
          Effect.forkDaemon
        )
        expiryTimers.set(userId, fiber)
      })

    /**
     * Tells the members what they now see of the user (offline unless connected and a member), if it is
     * not what they were last told. True when it told them, and so the user's own sessions too.
     */
    const publish = (userId: UserId) =>
      oneAtATime.withPermits(1)(Effect.gen(function* () {
        const choice = chosen.get(userId)
        const member = choice !== undefined && (yield* relationships.bothMembers(userId, userId))
        const now = member ? visible(userId, choice, Date.now()) : offline(userId)
        const before = shown.get(userId) ?? offline(userId)
        if (now.status === "offline") shown.delete(userId)
        else shown.set(userId, now)
        if (same(before, now)) return false
        yield* announce(now)
        return true
      }))

    /** Records a new choice and tells others if what they see changed. */
    const change = (userId: UserId, next: Chosen) =>
      Effect.gen(function* () {
        chosen.set(userId, next)
        yield* store(userId, next, true)
        const announced = yield* publish(userId)
        yield* scheduleExpiry(userId, next)
        return announced
      }).pipe(dieOnStorageError)

    /** What the members see of a user now (before any block between a viewer and them). */
    const seen = (userId: UserId, nowMs: number) => asOf(shown.get(userId) ?? offline(userId), nowMs)

    // A server that stopped without saying goodbye left users marked online: they are not any more.
    const stale = yield* sql`SELECT user_id FROM presence WHERE online = 1`.pipe(
      Effect.flatMap(decodeRows(OnlineRow)),
      dieOnStorageError
    )
    if (stale.length > 0) {
      yield* sql`UPDATE presence SET online = 0 WHERE online = 1`.pipe(dieOnStorageError)
      yield* Effect.forEach(stale, (row) => announce(offline(row.user_id as UserId)), { discard: true }).pipe(dieOnStorageError)
    }

    yield* Effect.addFinalizer(() =>
      Effect.forEach([...expiryTimers.values()], Fiber.interrupt, { discard: true }))

    // Joining, leaving, a kick or a ban while connected changes who may see the user: tell them now.
    const published = yield* bus.subscribe
    yield* Queue.take(published).pipe(
      Effect.flatMap((event) => {
        if (!MEMBERSHIP_EVENTS.has(event.type)) return Effect.void
        const subject = decodeSubject(event.data)
        if (Option.isNone(subject) || !chosen.has(subject.value.user_id)) return Effect.void
        return publish(subject.value.user_id as UserId).pipe(
          dieOnStorageError,
          Effect.catchAllCause((cause) => Effect.logWarning("Updating presence after a membership change failed", cause))
        )
      }),
      Effect.forever,
      Effect.forkScoped
    )

    return {
      /**
       * A connection of the user became ready. True when this announced the user (a member) online, which
       * the connection itself hears from the log: its snapshot then leaves the user out (`onlineFor`).
       */
      connected: (userId: UserId) =>
        Effect.gen(function* () {
          const count = (connections.get(userId) ?? 0) + 1
          connections.set(userId, count)
          if (count > 1) return false
          const choice = yield* load(userId)
          return yield* change(userId, choice)
        }).pipe(dieOnStorageError),
      /** A connection of the user closed; the last one takes the user offline. */
      disconnected: (userId: UserId) =>
        Effect.gen(function* () {
          const count = (connections.get(userId) ?? 0) - 1
          if (count > 0) {
            connections.set(userId, count)
            return
          }
          connections.delete(userId)
          const choice = chosen.get(userId)
          chosen.delete(userId)
          const timer = expiryTimers.get(userId)
          if (timer !== undefined) {
            expiryTimers.delete(userId)
            yield* Fiber.interrupt(timer)
          }
          if (choice === undefined) return
          yield* store(userId, choice, false)
          yield* publish(userId)
        }).pipe(dieOnStorageError),
      /** op 7 from one of the user's connections. */
      set: (userId: UserId, update: PresenceSet) =>
        Effect.suspend(() => {
          const current = chosen.get(userId) ?? DEFAULT
          return Effect.asVoid(change(userId, {
            status: update.status,
            custom_status: update.custom_status === undefined ? current.custom_status : update.custom_status,
            activity: update.activity === undefined ? current.activity : update.activity
          }))
        }),
      /** What `viewer` sees of a user now (GET /users/{id}/presence). */
      seenBy: (viewer: UserId, userId: UserId) =>
        Effect.gen(function* () {
          if (viewer !== userId && (yield* relationships.blockedEitherWay(viewer, userId))) return offline(userId)
          return seen(userId, Date.now())
        }).pipe(dieOnStorageError),
      /**
       * Every member `viewer` sees online, for a new session's first dispatches; without the viewer
       * themselves when `heardOwn` (their coming online reaches the session from the log).
       */
      onlineFor: (viewer: UserId, heardOwn: boolean) =>
        Effect.gen(function* () {
          const hidden = new Set<number>(yield* relationships.blockedWith(viewer))
          if (heardOwn) hidden.add(viewer)
          const now = Date.now()
          const out: Array<PresenceView> = []
          for (const [userId, view] of shown) {
            if (!hidden.has(userId)) out.push(asOf(view, now))
          }
          return out
        }).pipe(dieOnStorageError),
      /**
       * A block between `a` and `b` was made or lifted: each of them, if a member, is told what they now
       * see of the other (offline behind a block, else the real presence). Nothing is said of someone
       * who looks offline anyway.
       */
      pairChanged: (a: UserId, b: UserId) =>
        events.transact((emit) =>
          Effect.gen(function* () {
            const blocked = yield* relationships.blockedEitherWay(a, b)
            const now = Date.now()
            for (const [subject, viewer] of [[a, b], [b, a]] as const) {
              const view = seen(subject, now)
              if (view.status === "offline" || !(yield* relationships.bothMembers(viewer, viewer))) continue
              yield* emit(PresenceUpdate, blocked ? offline(subject) : view, { _tag: "users", user_ids: [viewer] })
            }
          })
        ).pipe(dieOnStorageError)
    } as const
  })
}) {}
