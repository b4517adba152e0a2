// Resume (issue 5 acceptance 3, in one process): clients whose connections drop at random while 1000
// messages stream into a feed end with every message exactly once, in the feed's order; a RESUME
// replays what was missed and then says RESUMED; nothing the user may not see is replayed; a session
// that is not the caller's, or unknown, cannot be resumed. On SQLite and PostgreSQL.
// (Across a server restart, graceful and kill -9: gatewayRestart.test.ts.)
import { describe, expect, layer } from "@effect/vitest"
import { Duration, Effect, Fiber, Queue, Random } from "effect"
import {
  type Dispatch,
  type GatewayClient,
  type GatewaySocket,
  gatewayUrl,
  nextFrame,
  openGatewaySocket,
  type ServerFrame
} from "../../src/client/GatewayClient.js"
import { CloseCode, Op } from "../../src/protocol/gateway.js"
import type { FeedId } from "../../src/protocol/ids.js"
import * as Messages from "../../src/protocol/api/messages.js"
import * as Spaces from "../../src/protocol/api/spaces.js"
import { Permission } from "../../src/protocol/permissions.js"
import type { Snowflake } from "../../src/protocol/snowflake.js"
import type { VoxClient } from "../../src/client/VoxClient.js"
import { backends } from "../support/backends.js"
import { eventually, gatewayFor, type RawDispatch, recordingClient, sendNumbered } from "../support/gateway.js"
import { newUser, owner, TestServer, TestServerLive, uniqueName } from "../support/server.js"

const EVERYONE = 1
const MESSAGES = Number(process.env.VOX_TEST_MESSAGES ?? 1000)
const POSTERS = 3
/** Each poster keeps a few sends in flight, so that sends also commit together and interleave. */
const IN_FLIGHT_PER_POSTER = 5
/** The drops are drawn from this seed (set VOX_TEST_SEED to replay another draw). */
const SEED = Number(process.env.VOX_TEST_SEED ?? 5)

interface Acting {
  readonly client: VoxClient
}

/** The feed's whole history, oldest first, read 100 at a time backwards. */
const fullHistory = (who: Acting, feedId: FeedId) =>
  Effect.gen(function* () {
    const all: Array<string> = []
    let before: Snowflake | undefined
    for (;;) {
      const page = (yield* who.client.call(Messages.getHistory, {
        params: { feed_id: feedId },
        query: { limit: 100, ...(before === undefined ? {} : { before }) }
      })).messages
      if (page.length === 0) return all.reverse()
      for (const m of page) all.push(String(m.msg_id))
      before = page[page.length - 1]!.msg_id
    }
  })

/** Everything an SDK client hands its caller, kept as it arrives. */
const collect = (gateway: GatewayClient) =>
  Effect.gen(function* () {
    const all: Array<Dispatch> = []
    yield* Queue.take(gateway.dispatches).pipe(
      Effect.map((d) => all.push(d)),
      Effect.forever,
      Effect.forkScoped
    )
    return all
  })

/** The ids of the messages of `feedId` among these dispatches, in order. */
const createdIn = (all: ReadonlyArray<{ readonly t?: string | undefined; readonly d: unknown }>, feedId: FeedId) =>
  all.flatMap((x) => {
    const d = x.d as { readonly feed_id?: unknown; readonly msg_id?: unknown }
    return x.t === "MESSAGE_CREATE" && Number(d.feed_id) === feedId ? [String(d.msg_id)] : []
  })

/** The numbers of the numbered dispatches (all but RESUMED), in arrival order. */
const numbers = (all: ReadonlyArray<RawDispatch | Dispatch>) => all.filter((x) => x.t !== "RESUMED").map((x) => x.s as number)

const strictlyIncreasing = (xs: ReadonlyArray<number>) => xs.every((x, i) => i === 0 || x > xs[i - 1]!)

/** Dispatches of a raw socket up to and including the first that satisfies `last`. */
const dispatchesUntil = (socket: GatewaySocket, last: (f: ServerFrame) => boolean) =>
  Effect.gen(function* () {
    const seen: Array<ServerFrame> = []
    for (;;) {
      const frame = yield* nextFrame(socket)
      if (frame.op !== Op.DISPATCH) continue
      seen.push(frame)
      if (last(frame)) return seen
    }
  }).pipe(Effect.timeoutFail({ duration: "10 seconds", onTimeout: () => new Error("expected dispatch did not arrive") }))

const field = (f: ServerFrame, name: string) => (f.d as { readonly [k: string]: unknown })[name]
const isCreateOf = (msgId: Snowflake) => (f: ServerFrame) => f.t === "MESSAGE_CREATE" && String(field(f, "msg_id")) === String(msgId)

/** A raw connection identified as `token`, after READY: its socket and session id. */
const identified = (token: string) =>
  Effect.gen(function* () {
    const { url } = yield* TestServer
    const socket = yield* openGatewaySocket(gatewayUrl(url))
    yield* nextFrame(socket) // HELLO
    yield* socket.send(Op.IDENTIFY, { token })
    const [ready] = yield* dispatchesUntil(socket, (f) => f.t === "READY")
    return { socket, sessionId: String(field(ready!, "session_id")) }
  })

/** A raw connection that sent RESUME. */
const resuming = (token: string, sessionId: string, lastSequence: number) =>
  Effect.gen(function* () {
    const { url } = yield* TestServer
    const socket = yield* openGatewaySocket(gatewayUrl(url))
    yield* nextFrame(socket) // HELLO
    yield* socket.send(Op.RESUME, { token, session_id: sessionId, last_sequence: lastSequence })
    return socket
  })

for (const backend of backends) {
  describe(`gateway resume on ${backend.name}`, () => {
    layer(TestServerLive(backend), { excludeTestServices: true })((it) => {
      it.scoped(`random disconnects during ${MESSAGES} messages: every client ends with each message once, in order (seed ${SEED})`, () =>
        Effect.gen(function* () {
          const { url } = yield* TestServer
          const boss = yield* owner
          const feed = yield* boss.client.call(Spaces.createFeed, { body: { name: uniqueName("stream"), type: "text" } })
          const posters = [boss, yield* newUser("poster"), yield* newUser("poster")]
          const readers = [yield* newUser("reader"), yield* newUser("reader"), yield* newUser("reader")]

          const sdk = yield* Effect.forEach(readers, (r) => gatewayFor(r.token))
          const sdkSeen = yield* Effect.forEach(sdk, collect)
          // One more session, of the first reader, that keeps what the server sent as it was sent.
          const raw = yield* recordingClient(gatewayUrl(url), readers[0]!.token)
          yield* eventually(() => raw.dispatches.some((d) => d.t === "READY"), "the recording client is READY")

          const droppable = [...sdk.map((g) => g.drop), raw.drop]
          const drops = droppable.map(() => 0)
          // Short gaps between drops, sometimes shorter than a reconnect, so that some connections are
          // cut during their handshake or replay too.
          const chaos = yield* Effect.gen(function* () {
            for (;;) {
              yield* Effect.sleep(Duration.millis(yield* Random.nextIntBetween(5, 150)))
              const victim = yield* Random.nextIntBetween(0, droppable.length)
              yield* droppable[victim]!
              drops[victim]!++
            }
          }).pipe(Effect.withRandom(Random.make(SEED)), Effect.fork)

          yield* Effect.forEach(posters, (poster, p) =>
            Effect.forEach(
              Array.from({ length: Math.ceil((MESSAGES - p) / POSTERS) }, (_, i) => p + i * POSTERS),
              (n) => sendNumbered(poster.client, feed.feed_id, n),
              { concurrency: IN_FLIGHT_PER_POSTER, discard: true }
            ), { concurrency: "unbounded", discard: true })
          yield* Fiber.interrupt(chaos)

          const expected = yield* fullHistory(boss, feed.feed_id)
          expect(expected).toHaveLength(MESSAGES)
          const everyone = [...sdkSeen, raw.dispatches]
          yield* eventually(
            () => everyone.every((seen) => createdIn(seen, feed.feed_id).length >= MESSAGES),
            () => `every client received every message (they have ${everyone.map((seen) => createdIn(seen, feed.feed_id).length).join(", ")})`,
            "30 seconds"
          )
          // Anything sent twice would arrive right behind the rest.
          yield* Effect.sleep("500 millis")

          for (const [i, seen] of sdkSeen.entries()) {
            expect(createdIn(seen, feed.feed_id)).toEqual(expected)
            expect(strictlyIncreasing(numbers(seen))).toBe(true)
            expect(seen.filter((d) => d.t === "RESUMED").length).toBeGreaterThan(0)
            expect(sdk[i]!.resyncs()).toBe(0)
          }
          // The server itself never sent an event twice, nor a number that did not grow.
          expect(createdIn(raw.dispatches, feed.feed_id)).toEqual(expected)
          expect(strictlyIncreasing(numbers(raw.dispatches))).toBe(true)
          expect(raw.resumes()).toBeGreaterThan(0)
          expect(raw.resyncs()).toBe(0)
          expect(raw.dispatches.filter((d) => d.t === "READY")).toHaveLength(1)
          expect(drops.reduce((a, b) => a + b, 0)).toBeGreaterThan(10)
        }), 300_000)

      it.scoped("a RESUME replays the missed events in order, then RESUMED, then live events", () =>
        Effect.gen(function* () {
          const boss = yield* owner
          const alice = yield* newUser("alice")
          const feed = yield* boss.client.call(Spaces.createFeed, { body: { name: uniqueName("replay"), type: "text" } })
          const send = (body: string) => boss.client.call(Messages.sendMessage, { params: { feed_id: feed.feed_id }, body: { body } })

          const first = yield* identified(alice.token)
          const seen = yield* send("seen")
          const upTo = yield* dispatchesUntil(first.socket, isCreateOf(seen.msg_id))
          const last = upTo[upTo.length - 1]!.s as number
          yield* first.socket.drop

          const missed = [yield* send("one"), yield* send("two"), yield* send("three")]
          const second = yield* resuming(alice.token, first.sessionId, last)
          const replay = yield* dispatchesUntil(second, (f) => f.t === "RESUMED")
          const resumed = replay.pop()!
          expect(createdIn(replay, feed.feed_id)).toEqual(missed.map((m) => String(m.msg_id)))
          const replayedNumbers = replay.map((f) => f.s as number)
          expect(replayedNumbers[0]).toBeGreaterThan(last)
          expect(strictlyIncreasing(replayedNumbers)).toBe(true)
          expect(resumed.s).toBeNull()
          expect(resumed.d).toEqual({ session_id: first.sessionId, replayed: replay.length })

          const live = yield* send("live")
          const after = yield* dispatchesUntil(second, isCreateOf(live.msg_id))
          expect((after[after.length - 1]!.s as number)).toBeGreaterThan(replayedNumbers[replayedNumbers.length - 1]!)
          expect(createdIn(after, feed.feed_id)).toEqual([String(live.msg_id)])

          // Resuming with no message missed replays none (only, maybe, alice's own presence going
          // offline meanwhile), still ended by RESUMED.
          const lastLive = after[after.length - 1]!.s as number
          yield* second.drop
          const third = yield* resuming(alice.token, first.sessionId, lastLive)
          const quiet = yield* dispatchesUntil(third, (f) => f.t === "RESUMED")
          const quietEnd = quiet.pop()!
          expect(quiet.filter((f) => f.t !== "PRESENCE_UPDATE")).toEqual([])
          expect(quietEnd.d).toEqual({ session_id: first.sessionId, replayed: quiet.length })
        }))

      it.scoped("an event of a feed the user may not see is not replayed", () =>
        Effect.gen(function* () {
          const boss = yield* owner
          const bob = yield* newUser("bob")
          const secret = yield* boss.client.call(Spaces.createFeed, { body: { name: uniqueName("secret"), type: "text" } })
          yield* boss.client.call(Spaces.setFeedOverride, {
            params: { feed_id: secret.feed_id, target_type: "role", target_id: EVERYONE },
            body: { allow: 0n as never, deny: Permission.VIEW_SPACE }
          })
          const open = yield* boss.client.call(Spaces.createFeed, { body: { name: uniqueName("open"), type: "text" } })
          const send = (feedId: FeedId, body: string) => boss.client.call(Messages.sendMessage, { params: { feed_id: feedId }, body: { body } })

          const first = yield* identified(bob.token)
          const marker = yield* send(open.feed_id, "before")
          const upTo = yield* dispatchesUntil(first.socket, isCreateOf(marker.msg_id))
          yield* first.socket.drop

          yield* send(secret.feed_id, "hidden 1")
          const visible = yield* send(open.feed_id, "visible")
          yield* send(secret.feed_id, "hidden 2")
          const second = yield* resuming(bob.token, first.sessionId, upTo[upTo.length - 1]!.s as number)
          const replay = yield* dispatchesUntil(second, (f) => f.t === "RESUMED")
          const resumed = replay.pop()!
          expect(createdIn(replay, secret.feed_id)).toEqual([])
          expect(replay.filter((f) => String(field(f, "feed_id")) === String(secret.feed_id))).toEqual([])
          expect(createdIn(replay, open.feed_id)).toEqual([String(visible.msg_id)])
          expect(resumed.d).toEqual({ session_id: first.sessionId, replayed: replay.length })
        }))

      it.scoped("a session that is unknown, another user's, or asked from a number it never reached is not resumed (4009)", () =>
        Effect.gen(function* () {
          const carol = yield* newUser("carol")
          const mallory = yield* newUser("mallory")
          const mine = yield* identified(carol.token)

          const unknown = yield* resuming(carol.token, `gw_${"x".repeat(24)}`, 1)
          expect((yield* Effect.flip(dispatchesUntil(unknown, () => true)))).toMatchObject({ code: CloseCode.SESSION_EXPIRED })

          const stolen = yield* resuming(mallory.token, mine.sessionId, 1)
          const stolenEnd = yield* Effect.flip(dispatchesUntil(stolen, () => true))
          expect(stolenEnd).toMatchObject({ code: CloseCode.SESSION_EXPIRED })

          const ahead = yield* resuming(carol.token, mine.sessionId, 1_000_000)
          expect((yield* Effect.flip(dispatchesUntil(ahead, () => true)))).toMatchObject({ code: CloseCode.SESSION_EXPIRED })

          // The session itself is untouched by those attempts: its owner resumes it.
          yield* mine.socket.drop
          const back = yield* resuming(carol.token, mine.sessionId, 1)
          const replay = yield* dispatchesUntil(back, (f) => f.t === "RESUMED")
          expect(replay[replay.length - 1]!.d).toMatchObject({ session_id: mine.sessionId })
        }))
    })
  })
}
