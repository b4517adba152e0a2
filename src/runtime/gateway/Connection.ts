// One gateway connection, from HELLO to close (seed 002 §4): the handshake (IDENTIFY or RESUME), the
// heartbeat watchdog, the client's opcodes, and the outlet through which the delivery loop sends it
// events. It runs as one fiber in its own scope; when the socket closes, the scope closes and the
// connection is detached from delivery and presence.
//
// Sequence numbers are derived, not counted: READY is 1, the dispatches sent right after it (the
// presence snapshot) follow, and a logged event at log position L is `L - base + preamble`, where
// `base` is the position READY stood for. Numbers grow strictly (with gaps where an event was not for
// this user) and mean the same after a restart, so RESUME needs nothing but the session row. RESUMED
// carries `s: null`: it marks the end of a replay and is no event of the stream.
import { Data, Duration, Effect, Either, Exit, Mailbox, Option, Schema } from "effect"
import type { IncomingMessage } from "node:http"
import type { WebSocket } from "ws"
import { PROTOCOL_VERSION } from "../../protocol/api/ops.js"
import {
  ClientFrame,
  CloseCode,
  FeatureOpPayloads,
  type FeatureOp,
  Identify,
  Op,
  PresenceSet,
  Resume,
  SERVER_CAPABILITIES,
  type SessionId,
  Typing as TypingPayload
} from "../../protocol/gateway.js"
import { stringifyJson, parseJson } from "../../protocol/json.js"
import type { UserId } from "../../protocol/ids.js"
import { Sessions, type Caller } from "../auth/Sessions.js"
import { Revocations, ends } from "../auth/Revocations.js"
import { LiveSessions } from "./LiveSessions.js"
import { VoxConfig } from "../config/VoxConfig.js"
import { addressKey, userKey } from "../ratelimit/keys.js"
import { RateLimiter } from "../ratelimit/RateLimiter.js"
import { Delivery, type LoggedEvent, type Outlet } from "./Delivery.js"
import { GatewayFeatureOps, type OpHandler } from "./FeatureOps.js"
import { Presence } from "./Presence.js"
import { newSessionId, SessionStore, type StoredSession } from "./SessionStore.js"
import { Typing } from "./Typing.js"
import type { ZstdStream } from "./zstdStream.js"

export interface ConnectionOptions {
  readonly compressor: ZstdStream | null
}

/** Why the connection ends, as the close frame says it. */
class Close extends Data.TaggedError("Close")<{ readonly code: number; readonly reason: string }> {}

const decodeFrame = Schema.decodeUnknownEither(ClientFrame)
const decodeIdentify = Schema.decodeUnknownEither(Identify)
const decodeResume = Schema.decodeUnknownEither(Resume)
const decodePresence = Schema.decodeUnknownEither(PresenceSet)
const decodeTyping = Schema.decodeUnknownEither(TypingPayload)

const frame = (op: number, d: unknown) => `{"op":${op},"d":${stringifyJson(d)}}`
const dispatchFrame = (type: string, s: number, json: string) => `{"op":0,"t":"${type}","s":${s},"d":${json}}`

/** After asking a client that does not read to close, how long before the socket is cut. */
const CUT_AFTER_MS = 1_000

export const serveConnection = (ws: WebSocket, request: IncomingMessage, options: ConnectionOptions) =>
  Effect.gen(function* () {
    const config = yield* VoxConfig
    const sessions = yield* Sessions
    const store = yield* SessionStore
    const delivery = yield* Delivery
    const presence = yield* Presence
    const typing = yield* Typing
    const limiter = yield* RateLimiter
    const featureOps = yield* GatewayFeatureOps
    const revocations = yield* Revocations
    const liveSessions = yield* LiveSessions

    const heartbeatMs = Duration.toMillis(config.gateway.heartbeatInterval)
    const maxBuffered = config.gateway.maxBufferedBytes
    const address = request.socket.remoteAddress ?? null

    let closed = false

    /** Ends the connection with `code`; the first reason given wins. */
    const close = (code: number, reason: string) => {
      if (closed) return
      closed = true
      ws.close(code, reason)
      // A client that does not read never takes the close frame off the wire: cut it.
      setTimeout(() => ws.terminate(), CUT_AFTER_MS).unref()
    }

    const transmit = (text: string) => {
      if (closed) return
      if (ws.bufferedAmount > maxBuffered) return close(CloseCode.UNKNOWN_ERROR, "Not reading fast enough")
      ws.send(options.compressor === null ? text : options.compressor.compress(text))
    }

    // --- the outlet: how delivery reaches this connection ---

    let session: (StoredSession & { readonly caller: Caller }) | null = null
    /** Events delivered while the handshake or a replay is still being sent: sent right after. */
    let held: Array<LoggedEvent> | null = []
    /** The last log position sent (replays must not repeat what was delivered live). */
    let sentUpTo = 0

    const sendEvent = (event: LoggedEvent) => {
      if (session === null || event.seq <= sentUpTo) return
      sentUpTo = event.seq
      transmit(dispatchFrame(event.type, event.seq - session.base + session.preamble, event.json))
    }

    const release = () => {
      const waiting = held ?? []
      held = null
      for (const event of waiting) sendEvent(event)
    }

    const attach = (userId: UserId) =>
      Effect.gen(function* () {
        const mine: Outlet = {
          userId,
          deliver: (event) => (held === null ? sendEvent(event) : held.push(event)),
          close
        }
        const position = yield* delivery.attach(mine)
        yield* Effect.addFinalizer(() => delivery.detach(mine))
        return position
      })

    // --- the handshake ---

    const authenticate = (token: string) =>
      sessions.authenticate(token, "user").pipe(
        Effect.orElse(() => sessions.authenticate(token, "bot")),
        Effect.mapError(() => new Close({ code: CloseCode.AUTH_FAILED, reason: "Authentication failed" }))
      )

    const sendReady = (caller: Caller, capabilities: ReadonlyArray<string>) =>
      Effect.gen(function* () {
        const position = yield* attach(caller.userId)
        const info = yield* store.readyInfo(caller.userId)
        // Presence first, so the snapshot holds this user too and everyone else hears they came online.
        const announced = yield* presence.connected(caller.userId)
        yield* Effect.addFinalizer(() => presence.disconnected(caller.userId))
        // Presence is for members only (PRESENCE_UPDATE's audience): an account outside the community gets no snapshot.
        const online = delivery.canSee(caller.userId, { _tag: "server" }) ? yield* presence.onlineFor(caller.userId, announced) : []
        const id = newSessionId()
        const stored: StoredSession = { id, userId: caller.userId, base: position, preamble: 1 + online.length }
        yield* store.save(stored)
        session = { ...stored, caller }
        yield* liveSessions.watch(caller.userId, caller.sessionId)
        sentUpTo = position
        const advertised = new Set<string>(SERVER_CAPABILITIES)
        transmit(dispatchFrame("READY", 1, stringifyJson({
          session_id: id,
          user_id: caller.userId,
          display_name: info.display_name,
          server_name: info.server_name,
          server_icon: info.server_icon,
          server_time: Math.floor(Date.now() / 1000),
          protocol_version: PROTOCOL_VERSION,
          capabilities: capabilities.filter((c) => advertised.has(c) || c === "bots"),
          is_bot: info.is_bot
        })))
        online.forEach((p, i) => transmit(dispatchFrame("PRESENCE_UPDATE", 2 + i, stringifyJson(p))))
        release()
      })

    const identify = (d: unknown) =>
      Effect.gen(function* () {
        const body = decodeIdentify(d)
        if (body._tag === "Left") return yield* new Close({ code: CloseCode.DECODE_ERROR, reason: "Invalid IDENTIFY payload" })
        if (body.right.protocol_version !== undefined && body.right.protocol_version !== PROTOCOL_VERSION) {
          return yield* new Close({ code: CloseCode.DECODE_ERROR, reason: "Unsupported protocol version" })
        }
        const caller = yield* authenticate(body.right.token)
        yield* sendReady(caller, body.right.capabilities)
      })

    /**
     * A replay can hold more than a connection may have queued (`maxBufferedBytes`): sent all at once it
     * would trip the slow-consumer cap, and the client, resuming after that 4000, would be cut again on
     * every attempt. So a replay goes at the pace the client reads (this fiber is the connection's own;
     * nobody else waits); a client that takes nothing for 1.5 heartbeat intervals is closed as slow.
     */
    const paced = Effect.gen(function* () {
      let queued = ws.bufferedAmount
      let progressAt = Date.now()
      while (!closed && ws.bufferedAmount > maxBuffered / 2) {
        if (ws.bufferedAmount < queued) {
          queued = ws.bufferedAmount
          progressAt = Date.now()
        } else if (Date.now() - progressAt > heartbeatMs * 1.5) {
          return yield* new Close({ code: CloseCode.UNKNOWN_ERROR, reason: "Not reading fast enough" })
        }
        yield* Effect.sleep(Duration.millis(5))
      }
    })

    const resume = (d: unknown) =>
      Effect.gen(function* () {
        const body = decodeResume(d)
        if (body._tag === "Left") return yield* new Close({ code: CloseCode.DECODE_ERROR, reason: "Invalid RESUME payload" })
        const caller = yield* authenticate(body.right.token)
        const last = body.right.last_sequence
        // The log position the client had reached: within the preamble it had none of the log yet.
        const from = (s: StoredSession) => s.base + Math.max(0, last - s.preamble)
        const found = yield* store.resumable(body.right.session_id, from)
        if (Option.isNone(found) || found.value.userId !== caller.userId) {
          return yield* new Close({ code: CloseCode.SESSION_EXPIRED, reason: "Session expired; IDENTIFY again and sync" })
        }
        const stored = found.value
        const position = yield* attach(caller.userId)
        const after = from(stored)
        if (after > position) return yield* new Close({ code: CloseCode.SESSION_EXPIRED, reason: "Unknown sequence; IDENTIFY again and sync" })
        yield* presence.connected(caller.userId)
        yield* Effect.addFinalizer(() => presence.disconnected(caller.userId))
        yield* store.touch(stored.id)
        session = { ...stored, caller }
        yield* liveSessions.watch(caller.userId, caller.sessionId)
        sentUpTo = after
        // Replay what the session missed, up to where live delivery took over; then what arrived meanwhile.
        let replayed = 0
        while (sentUpTo < position) {
          const page = yield* delivery.readLog(sentUpTo, position)
          if (page.length === 0) break
          for (const event of page) {
            if (delivery.canSee(caller.userId, event.audience)) {
              yield* paced
              sendEvent(event)
              replayed++
            } else sentUpTo = event.seq
          }
        }
        sentUpTo = position
        // RESUMED marks where the replay ends; it is no event of the stream and takes no number of its own.
        transmit(`{"op":0,"t":"RESUMED","s":null,"d":${stringifyJson({ session_id: stored.id, replayed })}}`)
        release()
      })

    // --- after the handshake ---

    const featureOp = <O extends FeatureOp>(op: O, d: unknown) =>
      Effect.gen(function* () {
        const schema = FeatureOpPayloads[op] as unknown as Schema.Schema<Parameters<OpHandler<O>>[1]>
        const payload = Schema.decodeUnknownEither(schema)(d)
        if (payload._tag === "Left") return yield* new Close({ code: CloseCode.DECODE_ERROR, reason: `Invalid payload for opcode ${op}` })
        const handler = featureOps[op] as OpHandler<O> | undefined
        if (handler === undefined || session === null) return
        yield* handler({ userId: session.userId, sessionId: session.id as SessionId, authSessionId: session.caller.sessionId }, payload.right)
      })

    let lastHeartbeat = Date.now()

    const onFrame = (raw: string) =>
      Effect.gen(function* () {
        const parsed = parseJson(raw)
        if (!parsed.ok) return yield* new Close({ code: CloseCode.DECODE_ERROR, reason: "Frames are JSON objects" })
        const decoded = decodeFrame(parsed.value)
        if (decoded._tag === "Left") return yield* new Close({ code: CloseCode.DECODE_ERROR, reason: "A frame is {op, d}" })
        const { op, d } = decoded.right
        if (op === Op.HEARTBEAT) {
          lastHeartbeat = Date.now()
          return transmit(frame(Op.HEARTBEAT_ACK, null))
        }
        const admitted = yield* limiter.take(
          "gatewayEvents",
          session === null ? addressKey(address) : userKey(session.userId)
        )
        if (!admitted.allowed) return yield* new Close({ code: CloseCode.RATE_LIMITED, reason: "Sending too fast" })
        if (session === null) {
          if (op === Op.IDENTIFY) return yield* identify(d)
          if (op === Op.RESUME) return yield* resume(d)
          if (isClientOp(op)) return yield* new Close({ code: CloseCode.NOT_AUTHENTICATED, reason: "IDENTIFY first" })
          return yield* new Close({ code: CloseCode.UNKNOWN_OPCODE, reason: `Unknown opcode ${op}` })
        }
        switch (op) {
          case Op.IDENTIFY:
          case Op.RESUME:
            return yield* new Close({ code: CloseCode.ALREADY_AUTHENTICATED, reason: "Already authenticated" })
          case Op.PRESENCE_UPDATE: {
            const body = decodePresence(d)
            if (body._tag === "Left") return yield* new Close({ code: CloseCode.DECODE_ERROR, reason: "Invalid PRESENCE_UPDATE payload" })
            return yield* presence.set(session.userId, body.right)
          }
          case Op.TYPING: {
            const body = decodeTyping(d)
            if (body._tag === "Left") return yield* new Close({ code: CloseCode.DECODE_ERROR, reason: "Invalid TYPING payload" })
            yield* typing.start(session.userId, body.right)
            return
          }
          case Op.VOICE_STATE_UPDATE:
          case Op.MLS_RELAY:
          case Op.CPACE_RELAY:
          case Op.VOICE_CODEC_NEG:
          case Op.STAGE_RESPONSE:
            return yield* featureOp(op, d)
          default:
            return yield* new Close({ code: CloseCode.UNKNOWN_OPCODE, reason: `Unknown opcode ${op}` })
        }
      })

    // --- wiring the socket ---

    const inbox = yield* Mailbox.make<string>()
    ws.on("message", (data, isBinary) => {
      if (isBinary) return close(CloseCode.DECODE_ERROR, "Frames are JSON text")
      inbox.unsafeOffer(data.toString("utf8"))
    })
    ws.on("close", () => {
      closed = true
      inbox.unsafeDone(Exit.void)
    })
    ws.on("error", () => inbox.unsafeDone(Exit.void))

    transmit(frame(Op.HELLO, { heartbeat_interval: heartbeatMs }))

    // The watchdog: a client silent for 1.5 intervals is gone (4007); it may resume.
    yield* Effect.suspend(() => {
      const silentFor = Date.now() - lastHeartbeat
      if (silentFor >= heartbeatMs * 1.5) {
        close(CloseCode.SESSION_TIMEOUT, "No heartbeat")
        return Effect.interrupt
      }
      return Effect.sleep(Duration.millis(heartbeatMs * 1.5 - silentFor))
    }).pipe(Effect.forever, Effect.forkScoped)

    // A revoked session ends its connections at once.
    const revoked = yield* revocations.subscribe
    yield* revoked.take.pipe(
      Effect.tap((revocation) => {
        if (session !== null && ends(revocation, { userId: session.userId, sessionId: session.caller.sessionId })) {
          close(CloseCode.AUTH_FAILED, "Session revoked")
        }
      }),
      Effect.forever,
      Effect.forkScoped
    )

    // Frames are handled one at a time, in order; the first one that ends the connection stops the loop.
    const maxFrame = config.gateway.maxFrameBytes
    for (;;) {
      const [chunk, done] = yield* inbox.takeAll
      for (const raw of chunk) {
        if (closed) return
        const outcome = raw.length > maxFrame
          ? Either.left(new Close({ code: CloseCode.DECODE_ERROR, reason: "Frame too large" }))
          : yield* Effect.either(onFrame(raw))
        if (Either.isLeft(outcome)) return close(outcome.left.code, outcome.left.reason)
      }
      if (done || closed) return
    }
  }).pipe(Effect.scoped)

const isClientOp = (op: number) => op >= Op.HEARTBEAT && op <= Op.STAGE_RESPONSE && op !== Op.HELLO && op !== Op.HEARTBEAT_ACK

