// Accounts end to end over a real socket: register, login, profile, logout, ownership, and every bad
// input of the Foundation issue, on SQLite and (when configured) PostgreSQL.
import { describe, expect, layer } from "@effect/vitest"
import { Effect } from "effect"
import { Permission } from "../../src/protocol/permissions.js"
import { backends } from "../support/backends.js"
import { rawRequest } from "../support/http.js"
import { registered, TestServer, TestServerLive, uniqueName } from "../support/server.js"

for (const backend of backends) {
  describe(`accounts on ${backend.name}`, () => {
    layer(TestServerLive(backend), { excludeTestServices: true })((it) => {
      it.effect("the first account is the owner, the second a plain member who cannot PATCH /server", () =>
        Effect.gen(function* () {
          const { client } = yield* TestServer
          const owner = yield* registered(client, "owner")
          const member = yield* registered(client, "member")

          const ownerMe = yield* owner.client.me()
          expect(ownerMe.owner).toBe(true)
          expect(ownerMe.permissions & Permission.ADMINISTRATOR).toBe(Permission.ADMINISTRATOR)

          const memberMe = yield* member.client.me()
          expect(memberMe.owner).toBe(false)
          expect(memberMe.permissions & Permission.ADMINISTRATOR).toBe(0n)
          expect(memberMe.permissions & Permission.MANAGE_SERVER).toBe(0n)

          const refused = yield* member.client.updateServer({ name: "Mine now" }).pipe(Effect.flip)
          expect(refused._tag).toBe("Forbidden")
          expect(refused).toMatchObject({ code: "FORBIDDEN", missing_permission: "MANAGE_SERVER" })
          expect((yield* client.withToken(owner.token).server()).name).not.toBe("Mine now")

          const renamed = yield* owner.client.updateServer({ name: "Our Place", description: "hello" })
          expect(renamed).toEqual({ name: "Our Place", icon: null, description: "hello", member_count: 2 })
          expect(yield* member.client.server()).toEqual(renamed)
        }))

      it.effect("register, login, GET /users/@me, logout: the token stops working", () =>
        Effect.gen(function* () {
          const { client } = yield* TestServer
          const username = uniqueName("alice")
          const reg = yield* client.register({ username, password: "correct horse battery", display_name: "Alice" })
          expect(reg.token.startsWith("vox_sess_")).toBe(true)

          const login = yield* client.login({ username: username.toUpperCase(), password: "correct horse battery" })
          expect(login).toMatchObject({ user_id: reg.user_id, display_name: "Alice" })
          expect(login.token).not.toBe(reg.token)

          const alice = client.withToken(login.token)
          const me = yield* alice.me()
          expect(me).toMatchObject({ user_id: reg.user_id, username, display_name: "Alice", avatar: null, bio: null })

          const updated = yield* alice.updateMe({ display_name: "Alice B.", bio: "hi", avatar: "https://example.com/a.png" })
          expect(updated).toMatchObject({ display_name: "Alice B.", bio: "hi", avatar: "https://example.com/a.png" })
          expect(yield* client.withToken(reg.token).user(reg.user_id)).toMatchObject({ display_name: "Alice B.", bio: "hi" })

          yield* alice.logout()
          const after = yield* alice.me().pipe(Effect.flip)
          expect(after).toMatchObject({ _tag: "AuthFailed", code: "AUTH_FAILED" })
          // the registration session is still alive: logout ends only its own session
          expect((yield* client.withToken(reg.token).me()).user_id).toBe(reg.user_id)
        }))

      it.effect("wrong password and unknown user: the same error, comparable time", () =>
        Effect.gen(function* () {
          const { client } = yield* TestServer
          const username = uniqueName("bob")
          yield* client.register({ username, password: "the right password" })

          const timed = (name: string) =>
            Effect.gen(function* () {
              const start = performance.now()
              const error = yield* client.login({ username: name, password: "a wrong password" }).pipe(Effect.flip)
              return { ms: performance.now() - start, error }
            })
          const wrong: Array<number> = []
          const unknown: Array<number> = []
          for (let i = 0; i < 6; i++) {
            const a = yield* timed(username)
            const b = yield* timed(uniqueName("nobody"))
            expect(a.error).toMatchObject({ code: "AUTH_FAILED", message: b.error.message })
            expect(b.error._tag).toBe("AuthFailed")
            wrong.push(a.ms)
            unknown.push(b.ms)
          }
          const median = (xs: Array<number>) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)]!
          const [w, u] = [median(wrong), median(unknown)]
          // Both pay one argon2id verification (tens of milliseconds); a missing user must not be cheaper.
          expect(Math.abs(w - u) / Math.max(w, u)).toBeLessThan(0.5)
        }))

      it.effect("64-bit numbers cross the wire exactly: ADMINISTRATOR (2^63) in a response", () =>
        Effect.gen(function* () {
          const { client } = yield* TestServer
          const login = yield* client.login({ username: "owner", password: "correct horse battery" })
          const response = yield* rawRequest("GET", "/api/v1/users/@me", { headers: { authorization: `Bearer ${login.token}` } })
          // the raw text holds the exact integer, above 2^53; a plain JSON.parse could not represent it
          expect(typeof response.body.permissions).toBe("bigint")
          expect(response.body.permissions & (1n << 63n)).toBe(1n << 63n)
          const me = yield* client.withToken(login.token).me()
          expect(me.permissions).toBe(response.body.permissions)
        }))

      it.effect("bad input gets its documented error code and changes nothing", () =>
        Effect.gen(function* () {
          const { client } = yield* TestServer
          const owner = yield* client.login({ username: "owner", password: "correct horse battery" })
          const auth = { authorization: `Bearer ${owner.token}`, "content-type": "application/json" }
          const before = yield* client.withToken(owner.token).server()

          const malformed = yield* rawRequest("PATCH", "/api/v1/server", { body: '{"name": ', headers: auth })
          expect(malformed).toMatchObject({ status: 400, body: { error: { code: "INVALID_BODY", location: "body" } } })

          const wrongType = yield* rawRequest("PATCH", "/api/v1/server", { body: '{"name": 5}', headers: auth })
          expect(wrongType).toMatchObject({ status: 400, body: { error: { code: "INVALID_BODY" } } })
          expect(wrongType.body.error.issues[0].path).toEqual(["name"])

          const unknownField = yield* rawRequest("PATCH", "/api/v1/server", { body: '{"nmae": "typo"}', headers: auth })
          expect(unknownField).toMatchObject({ status: 400, body: { error: { code: "INVALID_BODY" } } })

          const notJson = yield* rawRequest("PATCH", "/api/v1/server", {
            body: "name=x",
            headers: { ...auth, "content-type": "application/x-www-form-urlencoded" }
          })
          expect(notJson).toMatchObject({ status: 415, body: { error: { code: "UNSUPPORTED_MEDIA_TYPE" } } })

          const huge = yield* rawRequest("PATCH", "/api/v1/server", { body: `{"name": "${"x".repeat(2 * 1024 * 1024)}"}`, headers: auth })
          expect(huge).toMatchObject({ status: 413, body: { error: { code: "PAYLOAD_TOO_LARGE", max_bytes: 1048576 } } })

          const badId = yield* rawRequest("GET", "/api/v1/users/abc", { headers: auth })
          expect(badId).toMatchObject({ status: 400, body: { error: { code: "INVALID_BODY", location: "path" } } })
          const exponent = yield* rawRequest("GET", "/api/v1/users/1e3", { headers: auth })
          expect(exponent.status).toBe(400)
          const missingUser = yield* rawRequest("GET", "/api/v1/users/4000000000", { headers: auth })
          expect(missingUser).toMatchObject({ status: 404, body: { error: { code: "USER_NOT_FOUND" } } })

          const noToken = yield* rawRequest("GET", "/api/v1/users/@me")
          expect(noToken).toMatchObject({ status: 401, body: { error: { code: "AUTH_FAILED" } } })
          const badToken = yield* rawRequest("GET", "/api/v1/users/@me", { headers: { authorization: "Bearer vox_sess_forged" } })
          expect(badToken).toMatchObject({ status: 401, body: { error: { code: "AUTH_FAILED" } } })
          const badScheme = yield* rawRequest("GET", "/api/v1/users/@me", { headers: { authorization: `Basic ${owner.token}` } })
          expect(badScheme).toMatchObject({ status: 401, body: { error: { code: "AUTH_FAILED" } } })
          // a user session presented as a bot token is not a bot
          const asBot = yield* rawRequest("GET", "/api/v1/users/@me", { headers: { authorization: `Bot ${owner.token}` } })
          expect(asBot.status).toBe(401)

          const shortPassword = yield* rawRequest("POST", "/api/v1/auth/register", {
            body: JSON.stringify({ username: "shorty", password: "short" }),
            headers: { "content-type": "application/json" }
          })
          expect(shortPassword).toMatchObject({ status: 400, body: { error: { code: "INVALID_BODY" } } })
          const badName = yield* rawRequest("POST", "/api/v1/auth/register", {
            body: JSON.stringify({ username: "no spaces!", password: "long enough password" }),
            headers: { "content-type": "application/json" }
          })
          expect(badName.status).toBe(400)
          const taken = yield* client.register({ username: "OWNER", password: "long enough password" }).pipe(Effect.flip)
          expect(taken).toMatchObject({ _tag: "UsernameTaken", code: "USERNAME_TAKEN" })

          const unknownRoute = yield* rawRequest("GET", "/api/v1/nothing-here", { headers: auth })
          expect(unknownRoute).toMatchObject({ status: 404, body: { error: { code: "NOT_FOUND" } } })

          // nothing above changed the server, and no refused registration created an account
          expect(yield* client.withToken(owner.token).server()).toEqual(before)
          expect((yield* client.login({ username: "shorty", password: "short" }).pipe(Effect.flip))._tag).toBe("AuthFailed")
        }))

      it.effect("health, readiness and gateway discovery answer without a session", () =>
        Effect.gen(function* () {
          const { client, url } = yield* TestServer
          expect(yield* client.health()).toEqual({ status: "ok" })
          expect(yield* client.ready()).toEqual({ status: "ok" })
          const gateway = yield* client.gateway()
          expect(gateway).toMatchObject({ protocol_version: 1, min_version: 1, max_version: 1 })
          expect(gateway.url).toBe(`${url.replace("http", "ws")}/gateway`)
        }))
    })
  })
}
