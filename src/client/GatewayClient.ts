// The gateway side of the SDK (seed 002 §4, §9 "Reconnect"): connect, IDENTIFY, heartbeat, and, when
// the connection drops with a code that allows it, reconnect with backoff and RESUME, so the stream of
// dispatches the caller reads has every event once, in order. When the server says the session is
// gone (4009), the client IDENTIFYs afresh and reports that a `POST /sync` is needed.
//
// `openGatewaySocket` is the raw layer under it: one WebSocket, frames in and out, the close code;
// tests use it to speak the protocol badly on purpose.
import { Data, Deferred, Duration, Effect, Exit, Queue, type Scope } from "effect"
import WebSocket from "ws"
import { CloseCode, Op, RESUMABLE_CLOSE_CODES } from "../protocol/gateway.js"
import { parseJson, stringifyJson } from "../protocol/json.js"
import { makeZstdReader } from "./zstdReader.js"

/** A frame from the server, its numbers exact (snowflakes stay bigint). */
export interface ServerFrame {
  readonly op: number
  readonly t?: string
  readonly s?: number | null
  readonly d: unknown
}

/** A dispatch's payload: the JSON object of its event. */
export type DispatchData = { readonly [field: string]: unknown }

export interface Dispatch {
  readonly t: string
  readonly s: number
  readonly d: DispatchData
}

export interface SocketClosed {
  readonly code: number
  readonly reason: string
}

export class GatewayClosed extends Data.TaggedError("GatewayClosed")<SocketClosed> {}

export interface GatewaySocket {
  readonly frames: Queue.Dequeue<ServerFrame>
  /** Resolves with the close code once the socket is closed. */
  readonly closed: Deferred.Deferred<SocketClosed>
  readonly send: (op: number, d: unknown) => Effect.Effect<void>
  /** Sends text as it is (a malformed frame, on purpose). */
  readonly sendRaw: (text: string) => Effect.Effect<void>
  /** Cuts the connection without a close frame, like a network failure. */
  readonly drop: Effect.Effect<void>
  readonly close: (code?: number) => Effect.Effect<void>
  /** The underlying socket (tests pause it to play a client that stops reading). */
  readonly ws: WebSocket
}

/** `ws://host/gateway?v=1&encoding=json[&compress=zstd]` from the server's base URL. */
export const gatewayUrl = (baseUrl: string, compress = false) => {
  const url = new URL("/gateway", baseUrl)
  url.protocol = url.protocol === "https:" ? "wss:" : "ws:"
  url.searchParams.set("v", "1")
  url.searchParams.set("encoding", "json")
  if (compress) url.searchParams.set("compress", "zstd")
  return url.toString()
}

/** One WebSocket to the gateway; it is closed when the scope closes. */
export const openGatewaySocket = (url: string, options: { readonly compress?: boolean } = {}) =>
  Effect.gen(function* () {
    const frames = yield* Queue.unbounded<ServerFrame>()
    const closed = yield* Deferred.make<SocketClosed>()
    const reader = options.compress === true ? makeZstdReader() : null
    const ws = yield* Effect.acquireRelease(
      Effect.async<WebSocket, GatewayClosed>((resume) => {
        const ws = new WebSocket(url, { perMessageDeflate: false })
        ws.binaryType = "nodebuffer"
        ws.on("message", (data: Buffer, isBinary) => {
          const text = isBinary && reader !== null ? reader.decompress(data) : data.toString("utf8")
          const parsed = parseJson(text)
          if (parsed.ok) Queue.unsafeOffer(frames, parsed.value as unknown as ServerFrame)
        })
        ws.on("close", (code, reason) => {
          Deferred.unsafeDone(closed, Exit.succeed({ code, reason: reason.toString("utf8") }))
          resume(Effect.fail(new GatewayClosed({ code, reason: reason.toString("utf8") })))
        })
        ws.on("error", () => {})
        ws.on("open", () => resume(Effect.succeed(ws)))
      }),
      (ws) => Effect.sync(() => ws.terminate())
    )
    const socket: GatewaySocket = {
      frames,
      closed,
      send: (op, d) => Effect.sync(() => ws.send(`{"op":${op},"d":${stringifyJson(d ?? null)}}`)),
      sendRaw: (text) => Effect.sync(() => ws.send(text)),
      drop: Effect.sync(() => ws.terminate()),
      close: (code = 1000) => Effect.sync(() => ws.close(code)),
      ws
    }
    return socket
  })

/** The next frame, or the close if the socket closes first. */
export const nextFrame = (socket: GatewaySocket) =>
  Effect.raceFirst(
    Queue.take(socket.frames),
    Effect.flatMap(Deferred.await(socket.closed), (c) => Effect.fail(new GatewayClosed(c)))
  )

export interface GatewayOptions {
  readonly url: string
  readonly token: string
  readonly compress?: boolean
  readonly capabilities?: ReadonlyArray<string>
  /** Reconnect and RESUME after a resumable close or a dropped connection (default true). */
  readonly reconnect?: boolean
  /** Heartbeats on the interval HELLO gives (default true; tests turn it off to provoke 4007). */
  readonly heartbeat?: boolean
}

export interface GatewayClient {
  /**
   * Every dispatch of the session (READY, RESUMED and events), once each, in order. RESUMED, which
   * has no number of its own, arrives with the number of the last dispatch before it.
   */
  readonly dispatches: Queue.Dequeue<Dispatch>
  readonly sessionId: () => string
  readonly lastSequence: () => number
  readonly send: (op: number, d: unknown) => Effect.Effect<void>
  /** Cuts the current connection as a network failure would; the client resumes by itself. */
  readonly drop: Effect.Effect<void>
  /** Resolves when the session ends for good (a close that may not be resumed), with its code. */
  readonly ended: Deferred.Deferred<SocketClosed>
  /** How many times the client had to IDENTIFY afresh after 4009 (each one calls for a sync). */
  readonly resyncs: () => number
}

const BACKOFF_START_MS = 50
const BACKOFF_MAX_MS = 5_000

/** Connects, identifies and keeps the session alive until the scope closes. */
export const connectGateway = (options: GatewayOptions): Effect.Effect<GatewayClient, GatewayClosed, Scope.Scope> =>
  Effect.gen(function* () {
    const dispatches = yield* Queue.unbounded<Dispatch>()
    const ended = yield* Deferred.make<SocketClosed>()
    let sessionId = ""
    let lastSequence = 0
    let resyncs = 0
    let current: GatewaySocket | null = null
    const identified = yield* Deferred.make<void>()
    /** Set once a connection got through its handshake: the next failure starts backing off anew. */
    let healthy = false

    /** One connection: handshake, then frames until it closes; returns how it closed. */
    const runConnection = (resume: boolean) =>
      Effect.scoped(Effect.gen(function* () {
        const socket = yield* openGatewaySocket(options.url, { compress: options.compress ?? false })
        current = socket
        const hello = yield* nextFrame(socket)
        if (hello.op !== Op.HELLO) return yield* new GatewayClosed({ code: CloseCode.DECODE_ERROR, reason: "no HELLO" })
        const interval = Number((hello.d as DispatchData).heartbeat_interval)
        if (resume) {
          yield* socket.send(Op.RESUME, { token: options.token, session_id: sessionId, last_sequence: lastSequence })
        } else {
          yield* socket.send(Op.IDENTIFY, { token: options.token, capabilities: options.capabilities ?? [] })
        }
        if (options.heartbeat !== false) {
          yield* socket.send(Op.HEARTBEAT, lastSequence).pipe(
            Effect.delay(Duration.millis(interval)),
            Effect.forever,
            Effect.forkScoped
          )
        }
        for (;;) {
          const frame = yield* nextFrame(socket)
          if (frame.op !== Op.DISPATCH || frame.t === undefined) continue
          const d = (frame.d ?? {}) as DispatchData
          if (frame.t === "READY" || frame.t === "RESUMED") {
            healthy = true
            if (frame.t === "READY") {
              sessionId = String(d.session_id)
              lastSequence = 0
            }
            yield* Deferred.succeed(identified, undefined)
          }
          // RESUMED takes no number; everything else does, and the numbers only grow.
          if (frame.s === undefined || frame.s === null) {
            yield* Queue.offer(dispatches, { t: frame.t, s: lastSequence, d })
            continue
          }
          const s = Number(frame.s)
          if (s <= lastSequence) continue
          lastSequence = s
          yield* Queue.offer(dispatches, { t: frame.t, s, d })
        }
      })).pipe(Effect.flip)

    const loop = Effect.gen(function* () {
      let resume = false
      let backoff = BACKOFF_START_MS
      for (;;) {
        const closedWith = yield* runConnection(resume)
        const { code } = closedWith
        const resumable = RESUMABLE_CLOSE_CODES.has(code) || code === 1006 || code === 1001
        if (options.reconnect === false || !(resumable || code === CloseCode.SESSION_EXPIRED)) {
          return yield* Deferred.succeed(ended, { code, reason: closedWith.reason })
        }
        if (code === CloseCode.SESSION_EXPIRED) {
          resyncs++
          resume = false
          // The server answered, so it is up: IDENTIFY at once rather than after the backoff an
          // outage before it built up (up to BACKOFF_MAX_MS of live events the new session would miss).
          backoff = BACKOFF_START_MS
        } else resume = sessionId !== ""
        if (healthy) backoff = BACKOFF_START_MS
        healthy = false
        yield* Effect.sleep(Duration.millis(backoff))
        backoff = Math.min(backoff * 2, BACKOFF_MAX_MS)
      }
    })
    yield* Effect.forkScoped(loop)

    // The session exists once READY came; a refused IDENTIFY ends it before that.
    yield* Effect.raceFirst(
      Deferred.await(identified),
      Effect.flatMap(Deferred.await(ended), (c) => Effect.fail(new GatewayClosed(c)))
    )

    const client: GatewayClient = {
      dispatches,
      sessionId: () => sessionId,
      lastSequence: () => lastSequence,
      send: (op, d) => Effect.suspend(() => current === null ? Effect.void : current.send(op, d)),
      drop: Effect.suspend(() => current === null ? Effect.void : current.drop),
      ended,
      resyncs: () => resyncs
    }
    return client
  })
