// The delivery loop: one fiber that walks the event log in `seq` order (the commit order) and hands
// each event to the connections of exactly the users its audience names. Events arrive from the
// in-process bus as soon as they commit; the bus may reorder concurrent commits, so the loop holds
// an event back until every earlier position was delivered, and fetches from the log what the bus
// did not bring (a gap that does not fill, or events written by another process or node).
//
// Connections attach and detach through the same loop, so "the position at which a session began" is
// exact: every event after it reaches the session, none before it does.
import { SqlClient } from "@effect/sql"
import { Deferred, Duration, Effect, Option, Queue, Schedule, Schema } from "effect"
import { Audience } from "../../protocol/events.js"
import { UserId } from "../../protocol/ids.js"
import { parseJson, stringifyJson } from "../../protocol/json.js"
import { CloseCode } from "../../protocol/gateway.js"
import { decodeRows, IntColumn } from "../db/columns.js"
import { dieOnStorageError } from "../db/storageErrors.js"
import { type BusEvent, EventBus } from "../events/EventBus.js"
import { makeAudienceIndex } from "./AudienceIndex.js"

/** An event as the gateway sends it: its `d` already serialized, once for every recipient. */
export interface LoggedEvent {
  readonly seq: number
  readonly type: string
  readonly json: string
  readonly audience: Audience
}

/** A live connection as the delivery loop sees it. */
export interface Outlet {
  readonly userId: UserId
  /** Called by the loop, in log order, for each event the user may receive. Must not block. */
  readonly deliver: (event: LoggedEvent) => void
  /** Ends the connection (a ban, a revoked session). */
  readonly close: (code: number, reason: string) => void
}

type Command =
  | { readonly _tag: "events"; readonly events: ReadonlyArray<LoggedEvent> }
  | { readonly _tag: "attach"; readonly outlet: Outlet; readonly done: Deferred.Deferred<number> }
  | { readonly _tag: "detach"; readonly outlet: Outlet }
  | { readonly _tag: "closeUser"; readonly userId: number; readonly code: number; readonly reason: string }
  | { readonly _tag: "tick" }

/** Events that change one user's standing: reload that user before delivering them. */
const STANDING_EVENTS: ReadonlySet<string> = new Set([
  "MEMBER_JOIN",
  "MEMBER_LEAVE",
  "MEMBER_UPDATE",
  "MEMBER_BAN",
  "MEMBER_UNBAN",
  "ROLE_ASSIGN",
  "ROLE_REVOKE"
])
/** Events that change what roles, overrides or spaces grant: recompute everyone. */
const SNAPSHOT_EVENTS: ReadonlySet<string> = new Set([
  "ROLE_UPDATE",
  "ROLE_DELETE",
  "PERMISSION_OVERRIDE_UPDATE",
  "PERMISSION_OVERRIDE_DELETE",
  "FEED_CREATE",
  "FEED_DELETE",
  "ROOM_CREATE",
  "ROOM_DELETE",
  "SERVER_UPDATE"
])

const LogRow = Schema.Struct({ seq: IntColumn, type: Schema.String, audience: Schema.String, payload: Schema.String })
const decodeAudience = Schema.decodeUnknownOption(Audience)
const HeadRow = Schema.Struct({ last_seq: IntColumn })
const UserField = Schema.Struct({ user_id: UserId })
const decodeUserField = Schema.decodeUnknownOption(UserField)

/** Nobody: what a logged event whose audience cannot be read is delivered to. */
const NOBODY: Audience = { _tag: "users", user_ids: [] }

/** A logged row as the gateway sends it. The payload is already the JSON of `d`. */
export const fromLogRow = (row: typeof LogRow.Type): LoggedEvent => {
  const parsed = parseJson(row.audience)
  const audience = parsed.ok ? Option.getOrElse(decodeAudience(parsed.value), () => NOBODY) : NOBODY
  return { seq: row.seq, type: row.type, json: row.payload, audience }
}

const fromBus = (event: BusEvent): LoggedEvent => ({
  seq: event.seq,
  type: event.type,
  json: stringifyJson(event.data),
  audience: event.audience
})

/** How long a hole in the bus's order may stay open before the loop reads the log for it. */
const GAP_GRACE_MS = 50
const TICK = Duration.millis(100)
/** Every this many ticks, the loop looks in the log for events committed elsewhere. */
const POLL_EVERY_TICKS = 10
const PAGE = 1000

export class Delivery extends Effect.Service<Delivery>()("vox/gateway/Delivery", {
  scoped: Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const bus = yield* EventBus
    const audience = yield* makeAudienceIndex
    const commands = yield* Effect.acquireRelease(Queue.unbounded<Command>(), Queue.shutdown)

    // Subscribe before reading the head: nothing committed after the head can be missed.
    const published = yield* bus.subscribe
    const head = yield* sql`SELECT last_seq FROM event_sequence WHERE id = 1`.pipe(
      Effect.flatMap(decodeRows(HeadRow)),
      Effect.map((rows) => rows[0]?.last_seq ?? 0),
      Effect.orDie
    )

    /** The last position delivered. */
    let position = head
    const pending = new Map<number, LoggedEvent>()
    let gapSince: number | null = null
    let ticks = 0
    const outlets = new Map<number, Set<Outlet>>()

    const readLog = (after: number) =>
      sql`SELECT seq, type, audience, payload FROM event_log WHERE seq > ${after} ORDER BY seq LIMIT ${PAGE}`.pipe(
        Effect.flatMap(decodeRows(LogRow)),
        Effect.map((rows) => rows.map(fromLogRow)),
        dieOnStorageError
      )

    const deliver = (event: LoggedEvent) =>
      Effect.gen(function* () {
        if (STANDING_EVENTS.has(event.type)) {
          const subject = decodeUserField(parseJsonValue(event.json))
          if (subject._tag === "Some" && outlets.has(subject.value.user_id)) {
            yield* audience.reload(subject.value.user_id)
          }
          if (event.type === "MEMBER_BAN" && subject._tag === "Some") {
            for (const outlet of outlets.get(subject.value.user_id) ?? []) {
              outlet.close(CloseCode.AUTH_FAILED, "Banned from this server")
            }
          }
        } else if (SNAPSHOT_EVENTS.has(event.type)) {
          yield* audience.refresh(event.type === "SERVER_UPDATE")
        }
        for (const userId of audience.recipients(event.audience)) {
          const set = outlets.get(userId)
          if (set !== undefined) for (const outlet of set) outlet.deliver(event)
        }
        position = event.seq
      })

    /** Delivers every pending event that is next in order. */
    const drain = Effect.gen(function* () {
      let next = pending.get(position + 1)
      while (next !== undefined) {
        pending.delete(next.seq)
        yield* deliver(next)
        next = pending.get(position + 1)
      }
      gapSince = pending.size === 0 ? null : (gapSince ?? Date.now())
    })

    const accept = (events: ReadonlyArray<LoggedEvent>) => {
      for (const e of events) if (e.seq > position) pending.set(e.seq, e)
    }

    const catchUpFromLog = Effect.gen(function* () {
      for (;;) {
        const rows = yield* readLog(position)
        accept(rows)
        yield* drain
        if (rows.length < PAGE) return
      }
    })

    const handle = (command: Command) =>
      Effect.gen(function* () {
        switch (command._tag) {
          case "events":
            accept(command.events)
            return yield* drain
          case "attach": {
            const { outlet } = command
            let set = outlets.get(outlet.userId)
            if (set === undefined) {
              outlets.set(outlet.userId, (set = new Set()))
              yield* audience.track(outlet.userId)
            }
            set.add(outlet)
            return yield* Deferred.succeed(command.done, position)
          }
          case "detach": {
            const set = outlets.get(command.outlet.userId)
            if (set === undefined || !set.delete(command.outlet)) return
            if (set.size === 0) {
              outlets.delete(command.outlet.userId)
              audience.forget(command.outlet.userId)
            }
            return
          }
          case "closeUser":
            for (const outlet of outlets.get(command.userId) ?? []) outlet.close(command.code, command.reason)
            return
          case "tick": {
            ticks++
            const gapOpen = gapSince !== null && Date.now() - gapSince >= GAP_GRACE_MS
            if (gapOpen || ticks % POLL_EVERY_TICKS === 0) yield* catchUpFromLog
          }
        }
      })

    // The loop itself: one command batch at a time, so every state change above is serial.
    // A command that fails (the database is away) is logged and the loop goes on; the events it did
    // not deliver stay pending and are read from the log at the next tick.
    const handleSafely = (command: Command) =>
      handle(command).pipe(Effect.catchAllCause((cause) => Effect.logError("Gateway delivery failed", cause)))
    // takeBetween(1, ..) waits for a command; takeAll returns at once, even empty, and the loop would spin
    // a core while the gateway is idle (found by bench/gateway.ts: every IDENTIFY took ~100 ms).
    yield* Queue.takeBetween(commands, 1, Number.MAX_SAFE_INTEGER).pipe(
      Effect.flatMap((batch) => Effect.forEach(batch, handleSafely, { discard: true })),
      Effect.forever,
      Effect.forkScoped
    )
    yield* Queue.takeBetween(published, 1, PAGE).pipe(
      Effect.flatMap((events) => Queue.offer(commands, { _tag: "events", events: Array.from(events, fromBus) })),
      Effect.forever,
      Effect.forkScoped
    )
    yield* Queue.offer(commands, { _tag: "tick" }).pipe(Effect.repeat(Schedule.spaced(TICK)), Effect.forkScoped)

    return {
      /** Registers a connection; every event after the returned position reaches it. */
      attach: (outlet: Outlet) =>
        Effect.gen(function* () {
          const done = yield* Deferred.make<number>()
          yield* Queue.offer(commands, { _tag: "attach", outlet, done })
          return yield* Deferred.await(done)
        }),
      detach: (outlet: Outlet) => Queue.offer(commands, { _tag: "detach", outlet }).pipe(Effect.asVoid),
      /** Closes every connection of a user on this node. */
      closeUser: (userId: number, code: number, reason: string) =>
        Queue.offer(commands, { _tag: "closeUser", userId, code, reason }).pipe(Effect.asVoid),
      /** Whether a connected user may receive an event with this audience now (replay). */
      canSee: audience.canSee,
      /** Logged events after `after`, up to `upTo`, oldest first, a page at a time. */
      readLog: (after: number, upTo: number) =>
        Effect.map(readLog(after), (events) => events.filter((e) => e.seq <= upTo))
    } as const
  })
}) {}

const parseJsonValue = (text: string): unknown => {
  const parsed = parseJson(text)
  return parsed.ok ? parsed.value : undefined
}
