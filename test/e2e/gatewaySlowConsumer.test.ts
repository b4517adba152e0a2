// Slow consumers (issue 5 acceptance 4): a client that stops reading does not delay delivery to the
// hundred others in its feed. The same stream of messages is posted twice to 100 connections, once
// without and once with a client that has stopped reading; the others' delivery latency (from the
// POST to the frame's arrival) must stay where it was, every one of them must get every message once
// and in order, and the server must close the client that does not read with a code it may resume.
//
// The kernel takes about 4 MB for a loopback socket nobody reads before the server's own buffer grows
// at all, so the client that stops reading also sees a second feed, hidden from everyone else, that
// takes a large message at every step: its buffers fill within a few steps while the hundred others
// are sent no more than they would be anyway.
//
// Latency runs from the POST's answer (the message is committed) to the frame's arrival. Timing makes
// this a behaviour test with a deliberately wide bound: a server that waited for the stuck client (until
// it cut it, a second after asking it to close) fails it; a busy machine does not.
// Delivery does not depend on the database, so this runs on SQLite only.
import { describe, expect, layer } from "@effect/vitest"
import { Deferred, Duration, Effect, Exit, Queue } from "effect"
import { performance } from "node:perf_hooks"
import { gatewayUrl, type GatewaySocket, nextFrame, openGatewaySocket, type ServerFrame } from "../../src/client/GatewayClient.js"
import { CloseCode, Op } from "../../src/protocol/gateway.js"
import * as Messages from "../../src/protocol/api/messages.js"
import * as Server from "../../src/protocol/api/server.js"
import * as Spaces from "../../src/protocol/api/spaces.js"
import { Permission } from "../../src/protocol/permissions.js"
import { backends } from "../support/backends.js"
import { newUser, owner, TestServer, TestServerLive, uniqueName } from "../support/server.js"

const EVERYONE = 1
const OTHERS = 100
/** The hundred connections belong to this many members (25 connections each; registering is slow on purpose). */
const MEMBERS = 4
const STEPS = 30
/** Steps that also post to the hidden feed: enough to take the stuck client past the kernel's buffers and the cap. */
const FLOOD_STEPS = 20
/** The buffer past which the server gives up on a client (small, so the stuck client is cut mid-run). */
const MAX_BUFFERED = 256 * 1024
/** A hidden-feed message: 100 000 three-byte characters, 300 KB on the wire. */
const FLOOD_BODY = "界".repeat(100_000)

const sqlite = backends.find((b) => b.name === "sqlite")!

/** Every fourth message of the stream is larger, so frames of several sizes are in flight. */
const bodyOf = (run: string, step: number) =>
  step % 4 === 3 ? `${run} ${step} ${"m".repeat(16_000)}` : `${run} ${step}: hello, everyone`

const quantile = (sorted: ReadonlyArray<number>, q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!

/** A raw connection through HELLO, IDENTIFY and READY. */
const identified = (url: string, token: string) =>
  Effect.gen(function* () {
    const socket = yield* openGatewaySocket(gatewayUrl(url))
    const hello = yield* nextFrame(socket)
    expect(hello.op).toBe(Op.HELLO)
    yield* socket.send(Op.IDENTIFY, { token })
    for (;;) {
      const frame = yield* nextFrame(socket)
      if (frame.op === Op.DISPATCH && frame.t === "READY") return { socket, sessionId: String((frame.d as { session_id: string }).session_id) }
    }
  })

const MESSAGE_CREATE_PREFIX = `{"op":0,"t":"MESSAGE_CREATE"`

/**
 * Arrival times of MESSAGE_CREATE frames, per connection, taken in the socket's own message handler
 * (not when the test gets round to reading its queue). Every message the others see is one of the
 * stream's, in order (checked afterwards), so the k-th arrival on a connection is step k.
 */
const makeClock = (sockets: ReadonlyArray<GatewaySocket>) => {
  let arrivals: Array<Array<number>> = []
  let reached: Array<number> = []
  let everyone: Array<Deferred.Deferred<void>> = []
  sockets.forEach((socket, c) => {
    socket.ws.prependListener("message", (data: Buffer) => {
      if (data.toString("utf8", 0, MESSAGE_CREATE_PREFIX.length) !== MESSAGE_CREATE_PREFIX) return
      const mine = arrivals[c]!
      const step = mine.length
      mine.push(performance.now())
      if (++reached[step]! === sockets.length) Deferred.unsafeDone(everyone[step]!, Exit.void)
    })
  })
  return {
    start: (steps: number) =>
      Effect.gen(function* () {
        arrivals = sockets.map(() => [])
        reached = Array.from({ length: steps }, () => 0)
        everyone = yield* Effect.forEach(reached, () => Deferred.make<void>())
      }),
    arrivals: () => arrivals,
    /** Resolves once every connection has received the step's message. */
    everyoneGot: (step: number) => Deferred.await(everyone[step]!)
  }
}

for (const backend of [sqlite]) {
  describe(`gateway slow consumers on ${backend.name}`, () => {
    layer(
      TestServerLive(backend, { gateway: { maxBufferedBytes: MAX_BUFFERED, heartbeatInterval: "10 minutes" } }),
      { excludeTestServices: true }
    )((it) => {
      it.scoped("a client that stops reading does not delay delivery to 100 others, and is closed resumably", () =>
        Effect.gen(function* () {
          const { url } = yield* TestServer
          const boss = yield* owner
          yield* boss.client.call(Server.updateLimits, { body: { max_message_length: 100_000 } })
          const feed = yield* boss.client.call(Spaces.createFeed, { body: { name: uniqueName("crowd"), type: "text" } })
          const hidden = yield* boss.client.call(Spaces.createFeed, { body: { name: uniqueName("flood"), type: "text" } })
          yield* boss.client.call(Spaces.setFeedOverride, {
            params: { feed_id: hidden.feed_id, target_type: "role", target_id: EVERYONE },
            body: { allow: 0n as never, deny: Permission.VIEW_SPACE }
          })
          const stuck = yield* newUser("stuck")
          yield* boss.client.call(Spaces.setFeedOverride, {
            params: { feed_id: hidden.feed_id, target_type: "user", target_id: stuck.user_id },
            body: { allow: Permission.VIEW_SPACE, deny: 0n as never }
          })

          const members = yield* Effect.forEach(Array.from({ length: MEMBERS }), () => newUser("crowd"), { concurrency: 2 })
          const others = yield* Effect.forEach(
            Array.from({ length: OTHERS }, (_, i) => members[i % MEMBERS]!),
            (member) => Effect.map(identified(url, member.token), (c) => c.socket),
            { concurrency: 20 }
          )
          const clock = makeClock(others)

          /** Posts the stream and returns the others' latencies (ms) and the ids posted, in order. */
          const run = (name: string, steps: number) =>
            Effect.gen(function* () {
              yield* clock.start(steps)
              const posted: Array<bigint> = []
              const answered: Array<number> = []
              for (let step = 0; step < steps; step++) {
                if (step < FLOOD_STEPS) {
                  yield* boss.client.call(Messages.sendMessage, { params: { feed_id: hidden.feed_id }, body: { body: FLOOD_BODY } })
                }
                const sent = yield* boss.client.call(Messages.sendMessage, {
                  params: { feed_id: feed.feed_id },
                  body: { body: bodyOf(name, step) }
                })
                answered.push(performance.now())
                posted.push(sent.msg_id as bigint)
                yield* clock.everyoneGot(step).pipe(
                  Effect.timeoutFail({ duration: "20 seconds", onTimeout: () => new Error(`${name}: step ${step} was not delivered to everyone`) })
                )
              }
              // From the POST's answer (the message is committed) to the frame; a frame that came first waited for nothing.
              const latencies = clock.arrivals().flatMap((mine) => mine.map((at, step) => Math.max(0, at - answered[step]!)))
              latencies.sort((a, b) => a - b)
              return { latencies, posted }
            })

          /** Each of the others received exactly the messages posted, once each, in order; their other frames. */
          const expectEveryoneGot = (posted: ReadonlyArray<bigint>) =>
            Effect.forEach(others, (socket) =>
              Effect.gen(function* () {
                const frames = Array.from(yield* Queue.takeAll(socket.frames))
                const ids = frames
                  .filter((f) => f.t === "MESSAGE_CREATE")
                  .map((f) => BigInt((f.d as { msg_id: bigint | number }).msg_id))
                expect(ids).toEqual(posted)
                return frames.filter((f) => f.t !== "MESSAGE_CREATE")
              }))

          // Warm up (the JIT, the caches, the sockets) so the baseline is not the slowest run.
          yield* expectEveryoneGot((yield* run("warmup", 5)).posted)
          const baseline = yield* run("baseline", STEPS)
          yield* expectEveryoneGot(baseline.posted)

          // The stuck client: connected, in both feeds, reading nothing from now on.
          const slow = yield* identified(url, stuck.token)
          slow.socket.ws.pause()
          const withStuck = yield* run("stuck", STEPS)
          const besides = yield* expectEveryoneGot(withStuck.posted)

          const p99 = { baseline: quantile(baseline.latencies, 0.99), withStuck: quantile(withStuck.latencies, 0.99) }
          const p50 = { baseline: quantile(baseline.latencies, 0.5), withStuck: quantile(withStuck.latencies, 0.5) }
          // A server that waited for the stuck client would hold every other delivery for as long as it
          // waited; a wide bound keeps scheduling noise on a loaded machine from failing the test.
          expect(p99.withStuck, `p50 ${p50.baseline.toFixed(1)} → ${p50.withStuck.toFixed(1)} ms`).toBeLessThanOrEqual(2 * p99.baseline + 200)
          for (const socket of others) expect(yield* Deferred.isDone(socket.closed)).toBe(false)

          // The server gave up on the stuck client: the others see its user go offline (its only connection
          // closed) while it still reads nothing; once it reads again it finds its connection closed, with
          // 4000 if the close frame made it through before the cut, else cut (1006).
          const wentOffline = (f: ServerFrame) =>
            f.t === "PRESENCE_UPDATE" && (f.d as { user_id: unknown; status: unknown }).user_id === stuck.user_id &&
            (f.d as { status: unknown }).status === "offline"
          if (!besides[0]!.some(wentOffline)) {
            yield* Effect.gen(function* () {
              while (!wentOffline(yield* nextFrame(others[0]!))) continue
            }).pipe(Effect.timeoutFail({ duration: "10 seconds", onTimeout: () => new Error("the stuck client was never cut") }))
          }
          slow.socket.ws.resume()
          const closed = yield* Deferred.await(slow.socket.closed).pipe(Effect.timeout(Duration.seconds(20)))
          expect([CloseCode.UNKNOWN_ERROR, 1006]).toContain(closed.code)
          const seen = Array.from(yield* Queue.takeAll(slow.socket.frames))
          const lastSequence = Math.max(...seen.map((f) => (typeof f.s === "number" ? f.s : 0)))
          const mainIds = (frames: ReadonlyArray<ServerFrame>) =>
            frames
              .filter((f) => f.t === "MESSAGE_CREATE" && BigInt((f.d as { feed_id: bigint | number }).feed_id) === BigInt(feed.feed_id))
              .map((f) => BigInt((f.d as { msg_id: bigint | number }).msg_id))
          const before = mainIds(seen)
          expect(before.length).toBeLessThan(STEPS)

          // 4000 is resumable: RESUME replays what the stuck client missed, and it has the whole stream.
          const again = yield* openGatewaySocket(gatewayUrl(url))
          expect((yield* nextFrame(again)).op).toBe(Op.HELLO)
          yield* again.send(Op.RESUME, { token: stuck.token, session_id: slow.sessionId, last_sequence: lastSequence })
          const replayed: Array<ServerFrame> = []
          for (;;) {
            const frame = yield* nextFrame(again)
            if (frame.t === "RESUMED") break
            replayed.push(frame)
          }
          expect([...before, ...mainIds(replayed)]).toEqual(withStuck.posted)
        }), { timeout: 180_000 })
    })
  })
}
