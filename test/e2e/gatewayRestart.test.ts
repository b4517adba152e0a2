// Resume across a restart of the server (issue 5 acceptance 3, second half): `vox serve` runs as a
// process of its own, on a fixed port so that the gateway's address stays the same, and is killed
// with SIGKILL in the middle of a stream of messages, then stopped gracefully (clients see 4008).
// After each restart the clients reconnect with backoff, RESUME, and end with the feed's whole
// history, each message once, in order. A restart past the retention window has forgotten the
// sessions: clients are told 4009 and IDENTIFY afresh. On SQLite and PostgreSQL.
import { FetchHttpClient } from "@effect/platform"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Fiber, Queue } from "effect"
import * as Path from "node:path"
import { connectGateway, type Dispatch, type GatewayClient, gatewayUrl } from "../../src/client/GatewayClient.js"
import { makeVoxClient, type VoxClient } from "../../src/client/VoxClient.js"
import * as Messages from "../../src/protocol/api/messages.js"
import * as Spaces from "../../src/protocol/api/spaces.js"
import { CloseCode } from "../../src/protocol/gateway.js"
import type { FeedId } from "../../src/protocol/ids.js"
import type { Snowflake } from "../../src/protocol/snowflake.js"
import type { VoxConfigFile } from "../../src/runtime/config/VoxConfig.js"
import { backends } from "../support/backends.js"
import { eventually, type RawDispatch, recordingClient, sendNumbered } from "../support/gateway.js"
import { repoRoot, type RunningServer, startProcess } from "../support/process.js"
import { registered } from "../support/server.js"

const bin = Path.join(repoRoot, "bin/vox.js")

/**
 * `vox serve` on the database of `settings`, on `port` (0: any free one); killed if it still runs
 * when the scope closes.
 */
const serve = (settings: VoxConfigFile, port: number, env: Record<string, string> = {}) =>
  Effect.acquireRelease(
    Effect.promise(() =>
      startProcess(process.execPath, [bin, "serve", "--port", String(port), "--data-dir", settings.dataDir!], {
        env: { ...(settings.database?.url === undefined ? {} : { VOX_DATABASE_URL: settings.database.url }), ...env },
        // Starting means loading the sources through tsx; on a busy machine that is slow.
        startTimeoutMs: 150_000
      })),
    (server) => stop(server, "SIGKILL")
  )

/** Sends `signal` unless the process has ended already; resolves with how it ended. */
const stop = (server: RunningServer, signal: NodeJS.Signals) =>
  Effect.promise(() => {
    if (server.child.exitCode === null && server.child.signalCode === null) server.child.kill(signal)
    return server.exited
  })

const apiClient = (url: string) => makeVoxClient({ baseUrl: url }).pipe(Effect.provide(FetchHttpClient.layer))

/** The feed's whole history, oldest first, read 100 at a time backwards. */
const fullHistory = (client: VoxClient, feedId: FeedId) =>
  Effect.gen(function* () {
    const all: Array<string> = []
    let before: Snowflake | undefined
    for (;;) {
      const page = (yield* client.call(Messages.getHistory, {
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
    yield* Queue.take(gateway.dispatches).pipe(Effect.map((d) => all.push(d)), Effect.forever, Effect.forkScoped)
    return all
  })

/** The ids of the messages of `feedId` among these dispatches, in order. */
const createdIn = (all: ReadonlyArray<Dispatch | RawDispatch>, feedId: FeedId) =>
  all.flatMap((x) => (x.t === "MESSAGE_CREATE" && Number(x.d.feed_id) === feedId ? [String(x.d.msg_id)] : []))

const numbers = (all: ReadonlyArray<Dispatch | RawDispatch>) => all.filter((x) => x.t !== "RESUMED").map((x) => x.s as number)
const strictlyIncreasing = (xs: ReadonlyArray<number>) => xs.every((x, i) => i === 0 || x > xs[i - 1]!)

/** A fresh server with an owner, a feed, and `readers` members each watching the gateway. */
const community = (settings: VoxConfigFile, readers: number) =>
  Effect.gen(function* () {
    const first = yield* serve(settings, 0)
    const port = Number(new URL(first.url).port)
    const api = yield* apiClient(first.url)
    const boss = yield* registered(api, "owner")
    const feed = yield* boss.client.call(Spaces.createFeed, { body: { name: "stream", type: "text" } })
    const members = yield* Effect.forEach(Array.from({ length: readers }, (_, i) => `reader_${i}`), (name) => registered(api, name))
    const url = gatewayUrl(first.url)
    const sdk = yield* Effect.forEach(members, (m) => connectGateway({ url, token: m.token }))
    const seen = yield* Effect.forEach(sdk, collect)
    // A second session of the first reader that keeps what the server sent as it was sent.
    const raw = yield* recordingClient(url, members[0]!.token)
    yield* eventually(() => raw.dispatches.some((d) => d.t === "READY"), "the recording client is READY")
    return { first, port, boss, feed, sdk, seen, raw, everyone: [...seen, raw.dispatches] }
  })

const readies = (s: ReadonlyArray<Dispatch | RawDispatch>) => s.filter((d) => d.t === "READY").length

/** Sends messages number `from`..`from + count - 1`, five at a time. */
const sendRange = (client: VoxClient, feedId: FeedId, from: number, count: number) =>
  Effect.forEach(Array.from({ length: count }, (_, i) => from + i), (n) => sendNumbered(client, feedId, n), {
    concurrency: 5,
    discard: true
  })

// One server's life per database, restarted three ways: every start loads the sources anew, which is
// the slow part, so the phases share their servers and clients.
for (const backend of backends) {
  describe(`gateway resume across restarts on ${backend.name}`, () => {
    it.scopedLive("kill -9 mid-stream, a graceful restart (4008), a restart past retention (4009): clients resume, then resync", () =>
      Effect.gen(function* () {
        const settings = yield* backend.settings
        const { first, port, boss, feed, sdk, seen, raw, everyone } = yield* community(settings, 2)
        const received = () => everyone.map((s) => createdIn(s, feed.feed_id).length)

        /** Waits until every client has exactly the feed's history, and checks how it came. */
        const everyoneHasTheHistory = Effect.gen(function* () {
          const expected = yield* fullHistory(boss.client, feed.feed_id)
          yield* eventually(
            () => received().every((n) => n >= expected.length),
            () => `every client received ${expected.length} messages (they have ${received().join(", ")})`,
            "60 seconds"
          )
          // Anything sent twice would arrive right behind the rest.
          yield* Effect.sleep("300 millis")
          for (const s of everyone) {
            expect(createdIn(s, feed.feed_id)).toEqual(expected)
            expect(strictlyIncreasing(numbers(s))).toBe(true)
          }
          return expected
        })

        // 1. Messages stream in, a few at a time, and the server dies in the middle of it. Sends lost
        // with the process are simply lost: the history after the restart is what must be delivered.
        const stream = yield* Effect.forEach(
          Array.from({ length: 1000 }, (_, n) => n),
          (n) => Effect.ignore(sendNumbered(boss.client, feed.feed_id, n)),
          { concurrency: 5, discard: true }
        ).pipe(Effect.fork)
        yield* eventually(() => received().every((n) => n >= 60), () => `the stream reached every client (${received().join(", ")})`)
        expect(yield* stop(first, "SIGKILL")).toBe("SIGKILL")
        yield* Fiber.interrupt(stream)

        const second = yield* serve(settings, port)
        yield* sendRange(boss.client, feed.feed_id, 1000, 60)
        const afterKill = yield* everyoneHasTheHistory
        expect(afterKill.length).toBeGreaterThanOrEqual(120)
        expect(raw.closes).toContain(1006)

        // 2. A graceful stop tells every connection 4008; they resume on the next server.
        expect(yield* stop(second, "SIGTERM")).toBe(0)
        yield* eventually(() => raw.closes.includes(CloseCode.SERVER_RESTART), "the recording client was told 4008")
        const resumedBefore = seen.map((s) => s.filter((d) => d.t === "RESUMED").length)
        const third = yield* serve(settings, port)
        yield* sendRange(boss.client, feed.feed_id, 2000, 60)
        const afterStop = yield* everyoneHasTheHistory
        expect(afterStop.length).toBe(afterKill.length + 60)

        // Each time by resuming the one session: no client had to IDENTIFY again.
        for (const [i, s] of seen.entries()) {
          expect(readies(s)).toBe(1)
          expect(s.filter((d) => d.t === "RESUMED").length).toBeGreaterThan(resumedBefore[i]!)
          expect(sdk[i]!.resyncs()).toBe(0)
        }
        expect(readies(raw.dispatches)).toBe(1)
        expect(raw.resyncs()).toBe(0)

        // 3. The next server keeps one second of events: at start it prunes every session (and event)
        // older, so the clients are told 4009 and IDENTIFY afresh.
        expect(yield* stop(third, "SIGKILL")).toBe("SIGKILL")
        yield* Effect.sleep("1100 millis")
        yield* serve(settings, port, { VOX_EVENTS_RETENTION: "1 second" })
        yield* eventually(() => everyone.every((s) => readies(s) === 2), "every client identified afresh", "60 seconds")
        for (const client of sdk) expect(client.resyncs()).toBe(1)
        expect(raw.resyncs()).toBe(1)
        expect(raw.closes).toContain(CloseCode.SESSION_EXPIRED)

        // The new sessions receive what comes next (what they missed is for POST /sync to tell).
        const later = yield* sendNumbered(boss.client, feed.feed_id, 3000)
        yield* eventually(() => everyone.every((s) => createdIn(s, feed.feed_id).includes(String(later.msg_id))), "the next message arrived")
        for (const s of everyone) {
          expect(readies(s)).toBe(2)
          const fresh = s.slice(s.map((d) => d.t).lastIndexOf("READY"))
          expect(fresh[0]!.s).toBe(1)
          expect(strictlyIncreasing(numbers(fresh))).toBe(true)
          expect(createdIn(fresh, feed.feed_id)).toEqual([String(later.msg_id)])
          expect(fresh.filter((d) => d.t === "RESUMED")).toEqual([])
        }
      }), 600_000)
  })
}
