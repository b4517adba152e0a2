// Sessions expire: past `auth.sessionTtl` a token is refused with AUTH_EXPIRED, then forgotten.
import { describe, expect, layer } from "@effect/vitest"
import { Effect } from "effect"
import { backends } from "../support/backends.js"
import { TestServer, TestServerLive } from "../support/server.js"

for (const backend of backends) {
  describe(`sessions on ${backend.name}`, () => {
    layer(TestServerLive(backend, { auth: { sessionTtl: "1 seconds" } }), { excludeTestServices: true })((it) => {
      it.effect("an expired session token gets AUTH_EXPIRED, and after that AUTH_FAILED", () =>
        Effect.gen(function* () {
          const { client } = yield* TestServer
          const reg = yield* client.register({ username: "shortlived", password: "long enough pw" })
          const me = client.withToken(reg.token)
          expect((yield* me.me()).username).toBe("shortlived")
          yield* Effect.sleep("1200 millis")
          expect(yield* Effect.flip(me.me())).toMatchObject({ _tag: "AuthExpired", code: "AUTH_EXPIRED" })
          expect(yield* Effect.flip(me.me())).toMatchObject({ _tag: "AuthFailed" })
          // logging in again works and gives a fresh session
          const again = yield* client.login({ username: "shortlived", password: "long enough pw" })
          expect((yield* client.withToken(again.token).me()).user_id).toBe(reg.user_id)
        }))
    })
  })
}
