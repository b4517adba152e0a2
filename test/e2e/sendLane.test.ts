// The send lane (src/runtime/http/SendLane.ts) end to end over HTTP: on SQLite a warm member's sends are
// answered past the router, with exactly the answers the router gives (bodies, errors, headers), and
// the lane never answers for a session that ended, a member who lost the permission, an account
// suspended by another process, or a bucket that is empty: those go through the router, which refuses
// them. On PostgreSQL the lane stays closed and every send goes through the router.
import { describe, expect, layer } from "@effect/vitest"
import { Context, Effect } from "effect"
import * as Auth from "../../src/protocol/api/auth.js"
import * as Messages from "../../src/protocol/api/messages.js"
import * as Spaces from "../../src/protocol/api/spaces.js"
import type { FeedId, UserId } from "../../src/protocol/ids.js"
import { parseJson, stringifyJson } from "../../src/protocol/json.js"
import { Permission } from "../../src/protocol/permissions.js"
import { SendLane } from "../../src/runtime/http/SendLane.js"
import { backends } from "../support/backends.js"
import { withSuiteDatabase } from "../support/db.js"
import { newUser, owner, TestServer, TestServerLive, uniqueName } from "../support/server.js"

interface Reply {
  readonly status: number
  readonly headers: Headers
  readonly body: any
}

/**
 * A send exactly as written. `viaRouter` adds a query string, which the router ignores and the lane
 * does not take: the same request, answered the usual way, to compare the two.
 */
const post = (token: string, feedId: FeedId, body: string, viaRouter = false) =>
  Effect.gen(function* () {
    const { url } = yield* TestServer
    return yield* Effect.promise(async (): Promise<Reply> => {
      const response = await fetch(`${url}/api/v1/feeds/${feedId}/messages${viaRouter ? "?via=router" : ""}`, {
        method: "POST",
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
        body
      })
      const text = await response.text()
      const parsed = text === "" ? undefined : parseJson(text)
      return { status: response.status, headers: response.headers, body: parsed?.ok ? parsed.value : text }
    })
  })

const answeredByLane = Effect.map(TestServer, ({ services }) => Context.get(services, SendLane).answered())

/** A member and a fresh feed, the feed's entity woken by one send through the router. */
const warm = Effect.gen(function* () {
  const boss = yield* owner
  const feed = yield* boss.client.call(Spaces.createFeed, { body: { name: uniqueName("lane"), type: "text" } })
  const alice = yield* newUser("alice")
  expect((yield* post(alice.token, feed.feed_id, stringifyJson({ body: "wake up" }), true)).status).toBe(201)
  return { boss, feed, alice }
})

/** Runs `request` and says whether the lane answered it. */
const lanes = <A, E, R>(request: Effect.Effect<A, E, R>) =>
  Effect.gen(function* () {
    const before = yield* answeredByLane
    const reply = yield* request
    return { reply, laned: (yield* answeredByLane) > before }
  })

const headersOf = (reply: Reply) => ({
  type: reply.headers.get("content-type"),
  nosniff: reply.headers.get("x-content-type-options"),
  cache: reply.headers.get("cache-control"),
  bucket: reply.headers.get("x-ratelimit-bucket"),
  limit: reply.headers.get("x-ratelimit-limit")
})

const sqlite = backends.find((b) => b.name === "sqlite")!
const postgres = backends.find((b) => b.name === "postgres")

describe("the send lane on sqlite", () => {
  layer(TestServerLive(sqlite), { timeout: "60 seconds" })((it) => {
    it.effect("a warm member's sends are answered by the lane: stored in order, shown in history, answered as the router answers", () =>
      Effect.gen(function* () {
        const { feed, alice } = yield* warm
        const first = yield* lanes(post(alice.token, feed.feed_id, stringifyJson({ body: "one" })))
        const second = yield* lanes(post(alice.token, feed.feed_id, stringifyJson({ body: "two", nonce: "n-2" })))
        const routed = yield* lanes(post(alice.token, feed.feed_id, stringifyJson({ body: "three" }), true))
        expect([first.laned, second.laned, routed.laned]).toEqual([true, true, false])
        for (const { reply } of [first, second, routed]) {
          expect(reply.status).toBe(201)
          expect(Object.keys(reply.body).sort()).toEqual(["msg_id", "timestamp"])
          // exact on the wire, beyond 2^53
          expect(typeof reply.body.msg_id).toBe("bigint")
          expect(headersOf(reply)).toEqual(headersOf(routed.reply))
        }
        expect(headersOf(first.reply)).toMatchObject({ bucket: "messageSend", nosniff: "nosniff" })
        expect(BigInt(first.reply.body.msg_id) < BigInt(second.reply.body.msg_id)).toBe(true)
        expect(BigInt(second.reply.body.msg_id) < BigInt(routed.reply.body.msg_id)).toBe(true)
        // a retry through the lane is the original message
        const retry = yield* lanes(post(alice.token, feed.feed_id, stringifyJson({ body: "two", nonce: "n-2" })))
        expect(retry).toMatchObject({ laned: true, reply: { status: 201, body: second.reply.body } })
        const history = yield* alice.client.call(Messages.getHistory, { params: { feed_id: feed.feed_id }, query: {} })
        expect(history.messages.map((m) => m.body)).toEqual(["three", "two", "one", "wake up"])
        expect(history.messages[0]!.author_id).toBe(alice.user_id)
      }))

    it.effect("bad bodies get the router's own 400 from the lane, and change nothing", () =>
      Effect.gen(function* () {
        const { feed, alice } = yield* warm
        for (const body of ["{not json", stringifyJson({ body: 5 }), stringifyJson({ body: "x", extra: true }), "", stringifyJson({ body: "" })]) {
          const laned = yield* lanes(post(alice.token, feed.feed_id, body))
          const routed = yield* post(alice.token, feed.feed_id, body, true)
          expect(laned.laned).toBe(true)
          expect(laned.reply.status).toBe(routed.status)
          expect(laned.reply.body).toEqual(routed.body)
          expect(routed.status).toBe(400)
        }
        const history = yield* withSuiteCount(feed.feed_id)
        expect(history).toBe(1)
      }))

    it.effect("an ended session, a lost permission and a suspension by another process are refused at once, by the router", () =>
      Effect.gen(function* () {
        const { boss, feed, alice } = yield* warm
        const bob = yield* newUser("bob")
        const carol = yield* newUser("carol")
        // Each one's first send after someone joined may go through the router, which loads their
        // standing into the access cache (a join changes the access epoch); the next is the lane's.
        for (const who of [alice, bob, carol]) {
          yield* post(who.token, feed.feed_id, stringifyJson({ body: "hello" }))
          expect((yield* lanes(post(who.token, feed.feed_id, stringifyJson({ body: "hello again" })))).laned).toBe(true)
        }
        // alice logs out: her token is refused on the very next send
        yield* alice.client.call(Auth.logout, {})
        const loggedOut = yield* lanes(post(alice.token, feed.feed_id, stringifyJson({ body: "after logout" })))
        expect(loggedOut).toMatchObject({ laned: false, reply: { status: 401, body: { error: { code: "AUTH_FAILED" } } } })
        // bob loses SEND_MESSAGES in the feed
        yield* boss.client.call(Spaces.setFeedOverride, {
          params: { feed_id: feed.feed_id, target_type: "user", target_id: bob.user_id },
          body: { allow: 0n as never, deny: Permission.SEND_MESSAGES }
        })
        const denied = yield* lanes(post(bob.token, feed.feed_id, stringifyJson({ body: "denied" })))
        expect(denied).toMatchObject({
          laned: false,
          reply: { status: 403, body: { error: { code: "FORBIDDEN", missing_permission: "SEND_MESSAGES" } } }
        })
        // carol is suspended by another connection to the database (as `vox admin suspend` does)
        yield* withSuiteDatabase((sql) => sql`UPDATE users SET suspended = 1 WHERE id = ${carol.user_id as UserId}`)
        const suspended = yield* lanes(post(carol.token, feed.feed_id, stringifyJson({ body: "suspended" })))
        expect(suspended).toMatchObject({ laned: false, reply: { status: 401, body: { error: { code: "AUTH_FAILED" } } } })
        expect(yield* withSuiteCount(feed.feed_id)).toBe(7)
      }))
  })

  layer(TestServerLive(sqlite, { rateLimits: { messageSend: { requests: 3, per: "1 minute" } } }), { timeout: "60 seconds" })((it) => {
    it.effect("the lane and the router draw from one bucket; an empty bucket is refused by the router with 429", () =>
      Effect.gen(function* () {
        const { feed, alice } = yield* warm
        const replies = []
        for (let i = 0; i < 3; i++) replies.push(yield* lanes(post(alice.token, feed.feed_id, stringifyJson({ body: `m${i}` }))))
        // the warm-up send took one of the three: two more fit, the third does not
        expect(replies.map((r) => [r.laned, r.reply.status])).toEqual([[true, 201], [true, 201], [false, 429]])
        expect(replies[1]!.reply.headers.get("x-ratelimit-remaining")).toBe("0")
        expect(replies[2]!.reply.headers.get("retry-after")).not.toBeNull()
        expect(replies[2]!.reply.body.error.code).toBe("RATE_LIMITED")
      }))
  })
})

/** How many messages a feed holds. */
const withSuiteCount = (feedId: FeedId) =>
  withSuiteDatabase((sql) => sql<{ n: number | string }>`SELECT COUNT(*) AS n FROM messages WHERE feed_id = ${feedId}`).pipe(
    Effect.map((rows) => Number(rows[0]!.n))
  )

if (postgres !== undefined) {
  describe("the send lane on postgres", () => {
    layer(TestServerLive(postgres), { timeout: "60 seconds" })((it) => {
      it.effect("stays closed: every send goes through the router", () =>
        Effect.gen(function* () {
          const { feed, alice } = yield* warm
          for (let i = 0; i < 3; i++) {
            const sent = yield* lanes(post(alice.token, feed.feed_id, stringifyJson({ body: `m${i}` })))
            expect(sent).toMatchObject({ laned: false, reply: { status: 201 } })
          }
          expect(yield* answeredByLane).toBe(0)
        }))
    })
  })
}
