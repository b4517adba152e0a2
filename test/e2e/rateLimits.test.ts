// Rate limits end to end over HTTP (issue 7, seed 002 §11), on SQLite and (when configured)
// PostgreSQL: the X-RateLimit-* headers on every response, 429 with Retry-After and retry_after_ms,
// anonymous calls limited per address and signed-in ones per user, message sends per feed, and
// failed logins limited per address and per account (acceptance 5). Requests come from different
// loopback addresses (127.0.0.x) to stand for different clients.
import { describe, expect, layer } from "@effect/vitest"
import { Effect } from "effect"
import * as http from "node:http"
import * as Messages from "../../src/protocol/api/messages.js"
import * as Spaces from "../../src/protocol/api/spaces.js"
import { parseJson, stringifyJson } from "../../src/protocol/json.js"
import { backends } from "../support/backends.js"
import { PASSWORD, TestServer, TestServerLive, uniqueName } from "../support/server.js"

interface Reply {
  readonly status: number
  readonly headers: http.IncomingHttpHeaders
  readonly body: any
}

/** One request to the suite's server from the loopback address `from`. */
const request = (
  from: string,
  method: string,
  path: string,
  init: { readonly token?: string; readonly body?: unknown } = {}
): Effect.Effect<Reply, never, TestServer> =>
  Effect.flatMap(TestServer, ({ url }) =>
    Effect.async<Reply>((resume) => {
      const target = new URL(url)
      const payload = init.body === undefined ? undefined : stringifyJson(init.body)
      const req = http.request({
        host: target.hostname,
        port: target.port,
        localAddress: from,
        method,
        path,
        headers: {
          ...(init.token === undefined ? {} : { authorization: `Bearer ${init.token}` }),
          ...(payload === undefined ? {} : { "content-type": "application/json", "content-length": Buffer.byteLength(payload) })
        }
      }, (res) => {
        let text = ""
        res.setEncoding("utf8")
        res.on("data", (chunk: string) => (text += chunk))
        res.on("end", () => {
          const parsed = text === "" ? undefined : parseJson(text)
          resume(Effect.succeed({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: parsed === undefined ? undefined : parsed.ok ? parsed.value : text
          }))
        })
      })
      req.on("error", (e) => resume(Effect.die(e)))
      req.end(payload)
    }))

const login = (from: string, username: string, password: string) =>
  request(from, "POST", "/api/v1/auth/login", { body: { username, password } })

const register = (from: string, username: string) =>
  Effect.map(request(from, "POST", "/api/v1/auth/register", { body: { username, password: PASSWORD } }), (r) => {
    expect(r.status).toBe(201)
    return { username, user_id: r.body.user_id as number, token: r.body.token as string }
  })

const me = (from: string, token: string) => request(from, "GET", "/api/v1/users/@me", { token })

/** The four rate-limit headers as numbers (the bucket's name as it is). */
const limits = (reply: Reply) => ({
  limit: Number(reply.headers["x-ratelimit-limit"]),
  remaining: Number(reply.headers["x-ratelimit-remaining"]),
  reset: Number(reply.headers["x-ratelimit-reset"]),
  bucket: reply.headers["x-ratelimit-bucket"]
})

/** A 429 as the protocol describes it, for a bucket of `limit` requests per `periodMs`. */
const expectRateLimited = (reply: Reply, bucket: string, limit: number, periodMs: number) => {
  expect(reply.status).toBe(429)
  expect(reply.body.error).toMatchObject({ code: "RATE_LIMITED", message: expect.any(String) })
  const retryMs: number = reply.body.error.retry_after_ms
  expect(Number.isInteger(retryMs)).toBe(true)
  // the next request is one emission interval (period / limit) away at most
  expect(retryMs).toBeGreaterThan(0)
  expect(retryMs).toBeLessThanOrEqual(Math.ceil(periodMs / limit))
  expect(reply.headers["retry-after"]).toBe(String(Math.max(1, Math.ceil(retryMs / 1000))))
  const now = Date.now() / 1000
  expect(limits(reply)).toMatchObject({ limit, remaining: 0, bucket })
  expect(limits(reply).reset).toBeGreaterThanOrEqual(Math.floor(now))
  expect(limits(reply).reset).toBeLessThanOrEqual(Math.ceil(now + periodMs / 1000) + 1)
}

for (const backend of backends) {
  describe(`rate limits on ${backend.name}`, () => {
    // auth: 5 per 10 minutes per address; failed logins: 3 per 10 minutes per account (long periods:
    // on a loaded machine a login takes seconds, and no request may come back while a test runs)
    layer(
      TestServerLive(backend, {
        rateLimits: { auth: { requests: 5, per: "10 minutes" }, loginFailures: { requests: 3, per: "10 minutes" } }
      }),
      { excludeTestServices: true }
    )((it) => {
      it.effect("acceptance 5, per address: wrong passwords from one address get 429; other addresses and signed-in users are unaffected", () =>
        Effect.gen(function* () {
          const bystander = yield* register("127.0.0.1", uniqueName("bystander"))

          // five wrong guesses, each at a different account so that only the address adds up
          for (let i = 0; i < 5; i++) {
            const reply = yield* login("127.0.0.2", uniqueName("nobody"), "wrong password")
            expect(reply.status).toBe(401)
            expect(reply.body.error.code).toBe("AUTH_FAILED")
            expect(limits(reply)).toMatchObject({ limit: 5, remaining: 4 - i, bucket: "auth" })
            expect(reply.headers["retry-after"]).toBeUndefined()
          }
          expectRateLimited(yield* login("127.0.0.2", uniqueName("nobody"), "wrong password"), "auth", 5, 600_000)
          // the address is refused whoever it names, the right password too
          expectRateLimited(yield* login("127.0.0.2", bystander.username, PASSWORD), "auth", 5, 600_000)

          // another address logs the same user in
          const elsewhere = yield* login("127.0.0.3", bystander.username, PASSWORD)
          expect(elsewhere.status).toBe(200)
          expect(limits(elsewhere)).toMatchObject({ limit: 5, remaining: 4, bucket: "auth" })
          // a signed-in user draws from their own bucket, even from the limited address
          const mine = yield* me("127.0.0.2", bystander.token)
          expect(mine.status).toBe(200)
          expect(mine.body.user_id).toBe(bystander.user_id)
          expect(limits(mine).bucket).toBe("general")
        }))

      it.effect("acceptance 5, per account: failed logins from many addresses lock that account only, and only for a while", () =>
        Effect.gen(function* () {
          const victim = yield* register("127.0.0.10", uniqueName("victim"))
          const other = yield* register("127.0.0.10", uniqueName("other"))

          // three wrong passwords, each from an address of its own
          for (const from of ["127.0.0.11", "127.0.0.12", "127.0.0.13"]) {
            const reply = yield* login(from, victim.username, "wrong password")
            expect(reply.status).toBe(401)
            // the response reports the address's bucket, which is far from empty
            expect(limits(reply)).toMatchObject({ limit: 5, remaining: 4, bucket: "auth" })
          }
          // the account is locked: even the right password, from a fresh address, is not tried
          const locked = yield* login("127.0.0.14", victim.username.toUpperCase(), PASSWORD)
          expectRateLimited(locked, "loginFailures", 3, 600_000)

          // another account logs in from that same address
          expect((yield* login("127.0.0.14", other.username, PASSWORD)).status).toBe(200)
          // the victim's existing session is not touched
          expect((yield* me("127.0.0.14", victim.token)).status).toBe(200)
          // successful logins never count as failures
          for (const from of ["127.0.0.15", "127.0.0.16", "127.0.0.17", "127.0.0.18"]) {
            expect((yield* login(from, other.username, PASSWORD)).status).toBe(200)
          }
        }))

      it.effect("parallel guesses at one account cannot overdraw its failures", () =>
        Effect.gen(function* () {
          const target = yield* register("127.0.0.20", uniqueName("target"))
          const replies = yield* Effect.all(
            Array.from({ length: 12 }, (_, i) => login(`127.0.1.${i + 1}`, target.username, `guess number ${i}`)),
            { concurrency: "unbounded" }
          )
          const statuses = replies.map((r) => r.status).sort()
          expect(statuses.filter((s) => s === 401)).toHaveLength(3)
          expect(statuses.filter((s) => s === 429)).toHaveLength(9)
        }))

      it.effect("unauthenticated calls with a bad token are limited per address; health checks are not limited", () =>
        Effect.gen(function* () {
          const denied = yield* me("127.0.0.30", "vox_sess_not-a-real-token")
          expect(denied.status).toBe(401)
          expect(limits(denied)).toMatchObject({ limit: 1_000_000, bucket: "general" })
          const health = yield* request("127.0.0.30", "GET", "/health")
          expect(health.status).toBe(200)
          expect(health.headers["x-ratelimit-limit"]).toBeUndefined()
        }))
    })

    // small limits on the general API and on /auth/ (refilling every 5 seconds, to see it refill)
    layer(
      TestServerLive(backend, {
        rateLimits: { auth: { requests: 2, per: "10 seconds" }, general: { requests: 4, per: "10 minutes" } }
      }),
      { excludeTestServices: true }
    )((it) => {
      it.effect("Retry-After and retry_after_ms are exact: waiting that long is enough, and not waiting is not", () =>
        Effect.gen(function* () {
          // an anonymous logout: an /auth/ request as cheap as one gets (a login would spend time hashing)
          const knock = request("127.0.0.2", "POST", "/api/v1/auth/logout")
          for (let i = 0; i < 2; i++) expect((yield* knock).status).toBe(401)
          const refused = yield* knock
          expectRateLimited(refused, "auth", 2, 10_000)
          yield* Effect.sleep(`${refused.body.error.retry_after_ms} millis`)
          const again = yield* knock
          expect(again.status).toBe(401)
          expect(limits(again).remaining).toBe(0)
          expectRateLimited(yield* knock, "auth", 2, 10_000)
        }))

      it.effect("every REST response carries the headers; a signed-in user has a bucket of their own", () =>
        Effect.gen(function* () {
          const alice = yield* register("127.0.0.5", uniqueName("alice"))
          const bob = yield* register("127.0.0.6", uniqueName("bob"))
          const before = Math.floor(Date.now() / 1000)
          for (let i = 0; i < 3; i++) {
            const reply = yield* me("127.0.0.5", alice.token)
            expect(reply.status).toBe(200)
            expect(limits(reply)).toMatchObject({ limit: 4, remaining: 3 - i, bucket: "general" })
            // full again within the period
            expect(limits(reply).reset).toBeGreaterThanOrEqual(before)
            expect(limits(reply).reset).toBeLessThanOrEqual(Math.ceil(Date.now() / 1000) + 600)
          }
          // failures carry them too, and count: a 404 is still a request
          const missing = yield* request("127.0.0.5", "GET", "/api/v1/users/999999", { token: alice.token })
          expect(missing.status).toBe(404)
          expect(limits(missing)).toMatchObject({ limit: 4, remaining: 0, bucket: "general" })
          expectRateLimited(yield* me("127.0.0.5", alice.token), "general", 4, 600_000)
          // bob, from the same address, is not alice
          const bobs = yield* me("127.0.0.5", bob.token)
          expect(bobs.status).toBe(200)
          expect(limits(bobs)).toMatchObject({ limit: 4, remaining: 3, bucket: "general" })
        }))
    })

    // message sends: 2 per 10 minutes per feed
    layer(TestServerLive(backend, { rateLimits: { messageSend: { requests: 2, per: "10 minutes" } } }), {
      excludeTestServices: true
    })((it) => {
      it.effect("message sends are limited per feed: a full feed does not stop the same user posting in another", () =>
        Effect.gen(function* () {
          const boss = yield* register("127.0.0.1", uniqueName("boss"))
          const { client } = yield* TestServer
          const owner = client.withToken(boss.token)
          const one = yield* owner.call(Spaces.createFeed, { body: { name: uniqueName("one"), type: "text" } })
          const two = yield* owner.call(Spaces.createFeed, { body: { name: uniqueName("two"), type: "text" } })
          const send = (feedId: number) =>
            request("127.0.0.1", "POST", `/api/v1/feeds/${feedId}/messages`, { token: boss.token, body: { body: "hello" } })
          for (let i = 0; i < 2; i++) {
            const sent = yield* send(one.feed_id)
            expect(sent.status).toBe(201)
            expect(limits(sent)).toMatchObject({ limit: 2, remaining: 1 - i, bucket: "messageSend" })
          }
          expectRateLimited(yield* send(one.feed_id), "messageSend", 2, 600_000)
          expect((yield* send(two.feed_id)).status).toBe(201)
          // the refused message was not stored
          const history = yield* owner.call(Messages.getHistory, { params: { feed_id: one.feed_id }, query: {} })
          expect(history.messages).toHaveLength(2)
          // the SDK sees the protocol's error
          const viaSdk = yield* owner.call(Messages.sendMessage, { params: { feed_id: one.feed_id }, body: { body: "x" } }).pipe(Effect.flip)
          expect(viaSdk).toMatchObject({ _tag: "RateLimited", code: "RATE_LIMITED" })
          expect((viaSdk as { retry_after_ms: number }).retry_after_ms).toBeGreaterThan(0)
        }))
    })
  })
}
