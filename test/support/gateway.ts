// Gateway helpers for tests: a connected client for a user of the suite's server, and waiting for the
// dispatches a test expects (or making sure none came).
import { Duration, Effect, Option, Queue, Schedule } from "effect"
import {
  connectGateway,
  type Dispatch,
  type DispatchData,
  type GatewayClient,
  type GatewaySocket,
  gatewayUrl,
  nextFrame,
  openGatewaySocket
} from "../../src/client/GatewayClient.js"
import type { VoxClient } from "../../src/client/VoxClient.js"
import * as Messages from "../../src/protocol/api/messages.js"
import { CloseCode, Op, RESUMABLE_CLOSE_CODES } from "../../src/protocol/gateway.js"
import type { FeedId } from "../../src/protocol/ids.js"
import { TestServer } from "./server.js"

/** A gateway session for `token` on the suite's server, closed with the test's scope. */
export const gatewayFor = (token: string, options: { readonly compress?: boolean; readonly reconnect?: boolean } = {}) =>
  Effect.flatMap(TestServer, ({ url }) =>
    connectGateway({ url: gatewayUrl(url, options.compress ?? false), token, ...options }))

/** The next dispatch that satisfies `match`, skipping others; fails after `within`. */
export const nextDispatch = (
  gateway: GatewayClient,
  match: (d: Dispatch) => boolean,
  within: Duration.DurationInput = "5 seconds"
) =>
  Effect.gen(function* () {
    for (;;) {
      const d = yield* Queue.take(gateway.dispatches)
      if (match(d)) return d
    }
  }).pipe(Effect.timeoutFail({ duration: within, onTimeout: () => new Error("expected dispatch did not arrive") }))

/** A gateway session for `token` that has received READY. */
export const readyGatewayFor = (token: string) =>
  Effect.tap(gatewayFor(token), (gateway) => nextDispatch(gateway, (d) => d.t === "READY"))

/** Every dispatch received within `within` (after which nothing more is expected). */
export const dispatchesWithin = (gateway: GatewayClient, within: Duration.DurationInput = "300 millis") =>
  Effect.gen(function* () {
    yield* Effect.sleep(within)
    return Array.from(yield* Queue.takeAll(gateway.dispatches))
  })

/** The event type `t` with this predicate on its data, or none. */
export const findDispatch = (all: ReadonlyArray<Dispatch>, t: string, match: (d: any) => boolean = () => true) =>
  Option.fromNullable(all.find((x) => x.t === t && match(x.d)))

/** A dispatch exactly as the server framed it (RESUMED has `s: null`). */
export interface RawDispatch {
  readonly t: string
  readonly s: number | null
  readonly d: DispatchData
}

export interface RecordingClient {
  /** Every dispatch the server sent, over every connection, in arrival order, repeats included. */
  readonly dispatches: ReadonlyArray<RawDispatch>
  /** Cuts the current connection as a network failure would; the client resumes by itself. */
  readonly drop: Effect.Effect<void>
  /** Every close code its connections ended with (1006: dropped or refused). */
  readonly closes: ReadonlyArray<number>
  /** How many RESUMEs it sent, and how many times it had to IDENTIFY afresh after 4009. */
  readonly resumes: () => number
  readonly resyncs: () => number
}

const RAW_BACKOFF_MAX_MS = 1_000

/**
 * A gateway client that keeps everything the server sent. The SDK client (`connectGateway`) drops a
 * dispatch whose number it has already seen, which is right for an application and hides exactly the
 * fault a resume test looks for: a server that sends an event twice. This one speaks the same
 * protocol (IDENTIFY, heartbeats, RESUME with the highest number seen after a resumable close or a
 * dropped connection, IDENTIFY again after 4009) and filters nothing.
 */
export const recordingClient = (url: string, token: string) =>
  Effect.gen(function* () {
    const dispatches: Array<RawDispatch> = []
    const closes: Array<number> = []
    let current: GatewaySocket | null = null
    let sessionId = ""
    let last = 0
    let resumes = 0
    let resyncs = 0

    const connection = Effect.scoped(Effect.gen(function* () {
      const socket = yield* openGatewaySocket(url)
      current = socket
      const hello = yield* nextFrame(socket)
      const interval = Number((hello.d as DispatchData).heartbeat_interval)
      if (sessionId === "") {
        yield* socket.send(Op.IDENTIFY, { token })
      } else {
        resumes++
        yield* socket.send(Op.RESUME, { token, session_id: sessionId, last_sequence: last })
      }
      yield* Effect.suspend(() => socket.send(Op.HEARTBEAT, last)).pipe(
        Effect.delay(Duration.millis(interval)),
        Effect.forever,
        Effect.forkScoped
      )
      for (;;) {
        const frame = yield* nextFrame(socket)
        if (frame.op !== Op.DISPATCH || frame.t === undefined) continue
        const s = frame.s === undefined || frame.s === null ? null : Number(frame.s)
        const d = (frame.d ?? {}) as DispatchData
        dispatches.push({ t: frame.t, s, d })
        if (frame.t === "READY") sessionId = String(d.session_id)
        if (s !== null) last = Math.max(last, s)
      }
    })).pipe(Effect.flip)

    yield* Effect.gen(function* () {
      let backoff = 50
      for (;;) {
        const before = dispatches.length
        const { code } = yield* connection
        closes.push(code)
        // A connection that got as far as a dispatch was healthy: back off anew.
        if (dispatches.length > before) backoff = 50
        if (code === CloseCode.SESSION_EXPIRED) {
          resyncs++
          sessionId = ""
          last = 0
        } else if (!(RESUMABLE_CLOSE_CODES.has(code) || code === 1006 || code === 1001)) return
        yield* Effect.sleep(Duration.millis(backoff))
        backoff = Math.min(backoff * 2, RAW_BACKOFF_MAX_MS)
      }
    }).pipe(Effect.forkScoped)

    const client: RecordingClient = {
      dispatches,
      drop: Effect.suspend(() => current === null ? Effect.void : current.drop),
      closes,
      resumes: () => resumes,
      resyncs: () => resyncs
    }
    return client
  })

/** Waits until `done` holds (checked every 50 ms); after `within`, fails saying what did not happen. */
export const eventually = (
  done: () => boolean,
  what: string | (() => string),
  within: Duration.DurationInput = "30 seconds"
) =>
  Effect.suspend(() => (done() ? Effect.void : Effect.fail(new Error("not yet")))).pipe(
    Effect.retry(Schedule.spaced(Duration.millis(50))),
    Effect.timeoutFail({
      duration: within,
      onTimeout: () => new Error(`timed out waiting until ${typeof what === "string" ? what : what()}`)
    })
  )

/**
 * Sends message number `n` (body and nonce `m<n>`) to a feed, retrying when the request is lost on
 * the way (a busy or restarting server): the nonce makes a retry return the message already sent.
 */
export const sendNumbered = (client: VoxClient, feedId: FeedId, n: number) =>
  client.call(Messages.sendMessage, { params: { feed_id: feedId }, body: { body: `m${n}`, nonce: `m${n}` } }).pipe(
    Effect.retry({
      while: (e) => e._tag === "VoxTransportError",
      schedule: Schedule.exponential(Duration.millis(100)),
      times: 8
    })
  )
