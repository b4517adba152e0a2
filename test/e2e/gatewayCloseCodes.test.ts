// Every gateway close code of seed 002 §4 from the situation that defines it (issue 5 acceptance 2),
// spoken over a raw socket against a real server, on SQLite and PostgreSQL: 4000 a client that stops
// reading, 4001 unknown opcodes, 4002 undecodable frames, 4003 a payload before IDENTIFY, 4004 a bad
// token, a revoked session or a ban, 4005 a second IDENTIFY, 4006 sending too fast, 4007 no
// heartbeat, 4008 the server stopping, 4009 a session that cannot be resumed; and a gateway URL the
// server does not speak is refused with HTTP 400 before the upgrade.
import { describe, expect, layer } from "@effect/vitest"
import { Context, Deferred, Duration, Effect, Exit, Fiber, Layer, Scope } from "effect"
import WebSocket from "ws"
import {
  gatewayUrl,
  type GatewaySocket,
  nextFrame,
  openGatewaySocket,
  type ServerFrame
} from "../../src/client/GatewayClient.js"
import * as Members from "../../src/protocol/api/members.js"
import * as Messages from "../../src/protocol/api/messages.js"
import * as Server from "../../src/protocol/api/server.js"
import * as SessionsApi from "../../src/protocol/api/sessions.js"
import * as Spaces from "../../src/protocol/api/spaces.js"
import * as PresenceApi from "../../src/protocol/api/presence.js"
import { CloseCode, Op } from "../../src/protocol/gateway.js"
import { type Backend, backends } from "../support/backends.js"
import { gatewayFor, nextDispatch } from "../support/gateway.js"
import { newUser, owner, PASSWORD, TestServer, TestServerLive, uniqueName } from "../support/server.js"

// Long enough that a loaded machine does not miss heartbeats; the 4007 test waits 1.5 of it.
const HEARTBEAT_MS = 3_000

/** A raw socket to the server at `url`, closed with the test's scope. */
const openAt = (url: string) => openGatewaySocket(gatewayUrl(url))

/** A raw socket to the suite's server. */
const open = () => Effect.flatMap(TestServer, (server) => openAt(server.url))

/** The next frame; a close instead fails with its code, to read in a failed test. */
const frameOf = (socket: GatewaySocket) =>
  nextFrame(socket).pipe(Effect.mapError((c) => new Error(`closed with ${c.code} (${c.reason})`)))

/** Reads HELLO, the first frame of every connection. */
const hello = (socket: GatewaySocket) =>
  Effect.gen(function* () {
    const frame = yield* frameOf(socket)
    expect(frame.op).toBe(Op.HELLO)
    return frame
  })

/** The next dispatch named `t`, skipping others. */
const nextOfType = (socket: GatewaySocket, t: string, within: Duration.DurationInput = "5 seconds") =>
  Effect.gen(function* () {
    for (;;) {
      const frame: ServerFrame = yield* frameOf(socket)
      if (frame.op === Op.DISPATCH && frame.t === t) return frame
    }
  }).pipe(Effect.timeoutFail({ duration: within, onTimeout: () => new Error(`no ${t} arrived`) }))

/** Heartbeats on the server's interval for as long as the test's scope lives. */
const keepAlive = (socket: GatewaySocket) =>
  socket.send(Op.HEARTBEAT, null).pipe(
    Effect.zipRight(Effect.sleep(Duration.millis(HEARTBEAT_MS / 6))),
    Effect.forever,
    Effect.forkScoped
  )

/** HELLO, IDENTIFY, READY on a fresh socket to the server at `url` that keeps heartbeating. */
const identifiedAt = (url: string, token: string) =>
  Effect.gen(function* () {
    const socket = yield* openAt(url)
    yield* hello(socket)
    yield* keepAlive(socket)
    yield* socket.send(Op.IDENTIFY, { token })
    const ready = yield* nextOfType(socket, "READY")
    return { socket, ready: ready.d as { session_id: string }, readyS: Number(ready.s) }
  })

/** `identifiedAt` the suite's server. */
const identified = (token: string) => Effect.flatMap(TestServer, (server) => identifiedAt(server.url, token))

/** The code the socket was closed with (by the server). */
const closeCode = (socket: GatewaySocket, within: Duration.DurationInput = "5 seconds") =>
  Deferred.await(socket.closed).pipe(
    Effect.map((c) => c.code),
    Effect.timeoutFail({ duration: within, onTimeout: () => new Error("the server did not close the socket") })
  )

/** Whether the socket is still open after `wait`. */
const stillOpen = (socket: GatewaySocket, wait: Duration.DurationInput = "200 millis") =>
  Effect.zipRight(Effect.sleep(wait), Effect.map(Deferred.isDone(socket.closed), (done) => !done))

/** The status and body of an upgrade request the server refuses. */
const refusedUpgrade = (url: string) =>
  Effect.async<{ status: number; body: string }>((resume) => {
    const ws = new WebSocket(url)
    ws.on("unexpected-response", (_request, response) => {
      let body = ""
      response.setEncoding("utf8")
      response.on("data", (chunk: string) => (body += chunk))
      response.on("end", () => resume(Effect.succeed({ status: response.statusCode ?? 0, body })))
    })
    ws.on("open", () => {
      ws.terminate()
      resume(Effect.die(new Error(`upgraded: ${url}`)))
    })
    ws.on("error", () => {})
  })

const settings = { gateway: { heartbeatInterval: `${HEARTBEAT_MS} millis` } }

for (const backend of backends) {
  describe(`gateway close codes on ${backend.name}`, () => {
    layer(TestServerLive(backend, settings), { excludeTestServices: true })((it) => {
      it.scoped("a gateway URL of another version, encoding or compression is refused with 400 before the upgrade", () =>
        Effect.gen(function* () {
          yield* owner // the server's first account is its owner: registered before anyone else
          const { url } = yield* TestServer
          const base = gatewayUrl(url)
          for (const [name, value] of [["v", "2"], ["encoding", "etf"], ["compress", "gzip"]] as const) {
            const target = new URL(base)
            target.searchParams.set(name, value)
            const refused = yield* refusedUpgrade(target.toString())
            expect(refused.status).toBe(400)
            expect(JSON.parse(refused.body)).toMatchObject({ error: { code: "INVALID_BODY" } })
          }
          // the same URL with the values the server speaks upgrades
          const socket = yield* open()
          yield* hello(socket)
        }))

      it.scoped("4001: an opcode that does not exist, or one only the server sends", () =>
        Effect.gen(function* () {
          const unknown = yield* open()
          yield* hello(unknown)
          yield* unknown.send(99, {})
          expect(yield* closeCode(unknown)).toBe(CloseCode.UNKNOWN_OPCODE)

          const alice = yield* newUser("alice")
          const { socket } = yield* identified(alice.token)
          yield* socket.send(Op.HELLO, { heartbeat_interval: 1 })
          expect(yield* closeCode(socket)).toBe(CloseCode.UNKNOWN_OPCODE)
          const dispatcher = (yield* identified(alice.token)).socket
          yield* dispatcher.send(Op.DISPATCH, {})
          expect(yield* closeCode(dispatcher)).toBe(CloseCode.UNKNOWN_OPCODE)
        }))

      it.scoped("4002: text that is not JSON, JSON without an opcode, a binary frame, an IDENTIFY that does not decode", () =>
        Effect.gen(function* () {
          const alice = yield* newUser("alice")
          const notJson = yield* open()
          yield* hello(notJson)
          yield* notJson.sendRaw("hello?")
          expect(yield* closeCode(notJson)).toBe(CloseCode.DECODE_ERROR)

          const noOp = yield* open()
          yield* hello(noOp)
          yield* noOp.sendRaw(`{"d":{"token":"${alice.token}"}}`)
          expect(yield* closeCode(noOp)).toBe(CloseCode.DECODE_ERROR)

          const binary = yield* open()
          yield* hello(binary)
          yield* Effect.sync(() => binary.ws.send(Buffer.from(`{"op":1,"d":null}`), { binary: true }))
          expect(yield* closeCode(binary)).toBe(CloseCode.DECODE_ERROR)

          const badIdentify = yield* open()
          yield* hello(badIdentify)
          yield* badIdentify.send(Op.IDENTIFY, { tokens: alice.token })
          expect(yield* closeCode(badIdentify)).toBe(CloseCode.DECODE_ERROR)

          // after IDENTIFY too: a PRESENCE_UPDATE with a status that does not exist
          const { socket } = yield* identified(alice.token)
          yield* socket.send(Op.PRESENCE_UPDATE, { status: "away" })
          expect(yield* closeCode(socket)).toBe(CloseCode.DECODE_ERROR)
        }))

      it.scoped("4003: a payload before IDENTIFY (a heartbeat is allowed)", () =>
        Effect.gen(function* () {
          const socket = yield* open()
          yield* hello(socket)
          yield* socket.send(Op.HEARTBEAT, null)
          expect((yield* frameOf(socket)).op).toBe(Op.HEARTBEAT_ACK)
          expect(yield* stillOpen(socket)).toBe(true)
          yield* socket.send(Op.PRESENCE_UPDATE, { status: "idle" })
          expect(yield* closeCode(socket)).toBe(CloseCode.NOT_AUTHENTICATED)
        }))

      it.scoped("4004: a token that opens no session, on IDENTIFY and on RESUME", () =>
        Effect.gen(function* () {
          const alice = yield* newUser("alice")
          const bad = yield* open()
          yield* hello(bad)
          yield* bad.send(Op.IDENTIFY, { token: "not-a-token" })
          expect(yield* closeCode(bad)).toBe(CloseCode.AUTH_FAILED)

          const { socket, ready } = yield* identified(alice.token)
          yield* socket.close()
          const resumer = yield* open()
          yield* hello(resumer)
          yield* resumer.send(Op.RESUME, { token: "not-a-token", session_id: ready.session_id, last_sequence: 1 })
          expect(yield* closeCode(resumer)).toBe(CloseCode.AUTH_FAILED)
        }))

      it.scoped("4004: revoking a session through the REST API closes that session's connection, not the others", () =>
        Effect.gen(function* () {
          const { client } = yield* TestServer
          const alice = yield* newUser("alice")
          const phone = yield* client.login({ username: alice.username, password: PASSWORD })
          const phoneClient = client.withToken(phone.token)
          const phoneId = (yield* phoneClient.call(SessionsApi.listSessions)).sessions.find((s) => s.current)!.session_id
          const onPhone = (yield* identified(phone.token)).socket
          const onLaptop = (yield* identified(alice.token)).socket

          yield* alice.client.call(SessionsApi.revokeSession, { params: { session_id: phoneId } })
          expect(yield* closeCode(onPhone)).toBe(CloseCode.AUTH_FAILED)
          expect(yield* stillOpen(onLaptop)).toBe(true)
          // and the revoked token cannot come back
          const again = yield* open()
          yield* hello(again)
          yield* again.send(Op.IDENTIFY, { token: phone.token })
          expect(yield* closeCode(again)).toBe(CloseCode.AUTH_FAILED)
        }))

      it.scoped("4004: a member's connections are closed when they are banned", () =>
        Effect.gen(function* () {
          const boss = yield* owner
          const bystander = yield* newUser("bystander")
          const banned = yield* newUser("banned")
          const first = (yield* identified(banned.token)).socket
          const second = (yield* identified(banned.token)).socket
          const other = (yield* identified(bystander.token)).socket

          yield* boss.client.call(Members.banMember, { params: { user_id: banned.user_id }, body: { reason: "spam" } })
          expect(yield* closeCode(first)).toBe(CloseCode.AUTH_FAILED)
          expect(yield* closeCode(second)).toBe(CloseCode.AUTH_FAILED)
          expect(yield* stillOpen(other)).toBe(true)
        }))

      it.scoped("4005: a second IDENTIFY, or a RESUME after IDENTIFY", () =>
        Effect.gen(function* () {
          const alice = yield* newUser("alice")
          const twice = (yield* identified(alice.token)).socket
          yield* twice.send(Op.IDENTIFY, { token: alice.token })
          expect(yield* closeCode(twice)).toBe(CloseCode.ALREADY_AUTHENTICATED)

          const { socket, ready, readyS } = yield* identified(alice.token)
          yield* socket.send(Op.RESUME, { token: alice.token, session_id: ready.session_id, last_sequence: readyS })
          expect(yield* closeCode(socket)).toBe(CloseCode.ALREADY_AUTHENTICATED)
        }))

      it.scoped("4007: no heartbeat within one and a half intervals, identified or not", () =>
        Effect.gen(function* () {
          const alice = yield* newUser("alice")
          const silent = yield* open()
          const started = Date.now()
          yield* hello(silent)
          yield* silent.send(Op.IDENTIFY, { token: alice.token })
          yield* nextOfType(silent, "READY")
          expect(yield* closeCode(silent, "15 seconds")).toBe(CloseCode.SESSION_TIMEOUT)
          // not before the interval and a half it was given
          expect(Date.now() - started).toBeGreaterThanOrEqual(HEARTBEAT_MS * 1.5 - 50)

          const anonymous = yield* open()
          yield* hello(anonymous)
          expect(yield* closeCode(anonymous, "15 seconds")).toBe(CloseCode.SESSION_TIMEOUT)
        }))

      it.scoped("4009: RESUME of a session that does not exist, or from a sequence it was never sent", () =>
        Effect.gen(function* () {
          const alice = yield* newUser("alice")
          const unknown = yield* open()
          yield* hello(unknown)
          yield* unknown.send(Op.RESUME, { token: alice.token, session_id: "gw_" + "x".repeat(24), last_sequence: 1 })
          expect(yield* closeCode(unknown)).toBe(CloseCode.SESSION_EXPIRED)

          const { socket, ready, readyS } = yield* identified(alice.token)
          yield* socket.close()
          yield* closeCode(socket)
          const ahead = yield* open()
          yield* hello(ahead)
          yield* ahead.send(Op.RESUME, { token: alice.token, session_id: ready.session_id, last_sequence: readyS + 1_000_000 })
          expect(yield* closeCode(ahead)).toBe(CloseCode.SESSION_EXPIRED)

          // someone else's session is as unknown as one that never existed
          const mallory = yield* newUser("mallory")
          const thief = yield* open()
          yield* hello(thief)
          yield* thief.send(Op.RESUME, { token: mallory.token, session_id: ready.session_id, last_sequence: readyS })
          expect(yield* closeCode(thief)).toBe(CloseCode.SESSION_EXPIRED)

          // the session itself is intact: resumed from where it was, it goes on
          const honest = yield* open()
          yield* hello(honest)
          yield* keepAlive(honest)
          yield* honest.send(Op.RESUME, { token: alice.token, session_id: ready.session_id, last_sequence: readyS })
          const resumed = yield* nextOfType(honest, "RESUMED")
          expect((resumed.d as { session_id: string }).session_id).toBe(ready.session_id)
        }))

      it.scoped("4008: every connection is closed with SERVER_RESTART when the server stops", () =>
        Effect.gen(function* () {
          const stopping = yield* serverInScope(backend)
          const alice = yield* stopping.server.client.register({ username: uniqueName("alice"), password: PASSWORD })
          const first = (yield* identifiedAt(stopping.server.url, alice.token)).socket
          const second = (yield* identifiedAt(stopping.server.url, alice.token)).socket
          yield* Scope.close(stopping.scope, Exit.void)
          expect(yield* closeCode(first, "20 seconds")).toBe(CloseCode.SERVER_RESTART)
          expect(yield* closeCode(second, "20 seconds")).toBe(CloseCode.SERVER_RESTART)
        }))
    })

    // A small cap on what the server queues for a client: a client that stops reading reaches it soon.
    layer(TestServerLive(backend, { gateway: { ...settings.gateway, maxBufferedBytes: 16 * 1024 } }), { excludeTestServices: true })((it) => {
      it.scoped("4000: a client that stops reading is closed and cut; it may resume", () =>
        Effect.gen(function* () {
          const boss = yield* owner
          const slow = yield* newUser("slow")
          const watcher = yield* newUser("watcher")
          yield* boss.client.call(Server.updateLimits, { body: { max_message_length: 100_000 } })
          const feed = yield* boss.client.call(Spaces.createFeed, { body: { name: uniqueName("firehose"), type: "text" } })
          const watching = yield* gatewayFor(watcher.token)
          yield* nextDispatch(watching, (d) => d.t === "READY")

          const { socket, ready, readyS } = yield* identified(slow.token)
          yield* nextDispatch(watching, (d) => d.t === "PRESENCE_UPDATE" && d.d.user_id === slow.user_id && d.d.status === "online")
          // It keeps sending heartbeats (it is alive), but takes nothing off the wire.
          yield* Effect.sync(() => socket.ws.pause())

          // Large messages until the server gives up on it: more than the kernel's buffers hold.
          const body = "x".repeat(100_000)
          const flood = yield* Effect.forEach(
            Array.from({ length: 400 }, (_, i) => i),
            () => boss.client.call(Messages.sendMessage, { params: { feed_id: feed.feed_id }, body: { body } }),
            { concurrency: 4, discard: true }
          ).pipe(Effect.fork)
          // The server closed its end: the user's only connection is gone, so others see them offline.
          const offline = yield* nextDispatch(
            watching,
            (d) => d.t === "PRESENCE_UPDATE" && d.d.user_id === slow.user_id && d.d.status === "offline",
            "100 seconds"
          )
          expect(offline.d.status).toBe("offline")
          yield* Fiber.interrupt(flood)
          const presence = yield* watcher.client.call(PresenceApi.getUserPresence, { params: { user_id: slow.user_id } })
          expect(presence.status).toBe("offline")

          // Reading again, the client finds its socket closed: with 4000 if the close frame got through
          // before the cut, else as a dropped connection.
          yield* Effect.sync(() => socket.ws.resume())
          expect([CloseCode.UNKNOWN_ERROR, 1006]).toContain(yield* closeCode(socket, "10 seconds"))

          // 4000 may be resumed: the session replays what it missed.
          const again = yield* open()
          yield* hello(again)
          yield* keepAlive(again)
          yield* again.send(Op.RESUME, { token: slow.token, session_id: ready.session_id, last_sequence: readyS })
          const resumed = yield* nextOfType(again, "RESUMED", "30 seconds")
          expect((resumed.d as { replayed: number }).replayed).toBeGreaterThan(0)
        }), 180_000)
    })

    // A small gateway event budget, on a server of its own: the budget before IDENTIFY is per address.
    layer(TestServerLive(backend, { ...settings, rateLimits: { gatewayEvents: { requests: 5, per: "1 minute" } } }), {
      excludeTestServices: true
    })((it) => {
      it.scoped("4006: sending faster than the gateway event limit; heartbeats do not count", () =>
        Effect.gen(function* () {
          const alice = yield* newUser("alice")
          const { socket } = yield* identified(alice.token)
          for (let i = 0; i < 20; i++) yield* socket.send(Op.HEARTBEAT, null)
          expect(yield* stillOpen(socket)).toBe(true)
          for (let i = 0; i < 5; i++) yield* socket.send(Op.PRESENCE_UPDATE, { status: i % 2 === 0 ? "idle" : "online" })
          expect(yield* stillOpen(socket)).toBe(true)
          yield* socket.send(Op.PRESENCE_UPDATE, { status: "dnd" })
          expect(yield* closeCode(socket)).toBe(CloseCode.RATE_LIMITED)
        }))
    })
  })
}

/** A second server, in a scope of its own that the test closes to stop it. */
const serverInScope = (backend: Backend) =>
  Effect.gen(function* () {
    const scope = yield* Scope.make()
    // if the test fails before stopping it, the server still stops with the test
    yield* Effect.addFinalizer(() => Scope.close(scope, Exit.void))
    const context = yield* Layer.buildWithScope(TestServerLive(backend, settings), scope)
    return { scope, server: Context.get(context, TestServer) }
  })
