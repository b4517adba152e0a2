// Sessions end to end over HTTP (issue 7), on SQLite and (when configured) PostgreSQL: they expire;
// a user lists theirs (device, address, times, which is current) and ends any of them, or all the
// others; a password change and a ban end sessions too. Whatever ends a session, its token is
// refused on the very next request, and the ending is announced for the gateway (Revocations).
import { describe, expect, layer } from "@effect/vitest"
import { Context, Effect, Queue } from "effect"
import * as Members from "../../src/protocol/api/members.js"
import * as SessionsApi from "../../src/protocol/api/sessions.js"
import type { Snowflake } from "../../src/protocol/snowflake.js"
import { type Revocation, Revocations } from "../../src/runtime/auth/Revocations.js"
import { backends } from "../support/backends.js"
import { rawEndpointRequest, rawRequest } from "../support/http.js"
import { newUser, owner, PASSWORD, TestServer, TestServerLive } from "../support/server.js"

/** A password login that says which device it is. */
const loginAs = (username: string, userAgent: string, password = PASSWORD) =>
  Effect.gen(function* () {
    const reply = yield* rawRequest("POST", "/api/v1/auth/login", {
      body: { username, password },
      headers: { "user-agent": userAgent }
    })
    expect(reply.status).toBe(200)
    const { client } = yield* TestServer
    return { token: reply.body.token as string, client: client.withToken(reply.body.token as string) }
  })

type Acting = { readonly client: Effect.Effect.Success<ReturnType<typeof newUser>>["client"] }

const sessionsOf = (who: Acting) => Effect.map(who.client.call(SessionsApi.listSessions), (r) => r.sessions)

/** The id of the session a client acts through. */
const currentId = (who: Acting) =>
  Effect.map(sessionsOf(who), (sessions) => sessions.find((s) => s.current)!.session_id)

/** Whether a token still opens the account: 200, or the 401 AUTH_FAILED of an ended session. */
const works = (token: string) =>
  Effect.map(rawRequest("GET", "/api/v1/users/@me", { token }), (reply) => {
    if (reply.status === 200) return true
    expect(reply).toMatchObject({ status: 401, body: { error: { code: "AUTH_FAILED" } } })
    return false
  })

for (const backend of backends) {
  describe(`sessions on ${backend.name}`, () => {
    layer(TestServerLive(backend, { auth: { sessionTtl: "3 seconds" } }), { excludeTestServices: true })((it) => {
      it.effect("an expired session token gets AUTH_EXPIRED, and after that AUTH_FAILED", () =>
        Effect.gen(function* () {
          const { client } = yield* TestServer
          const reg = yield* client.register({ username: "shortlived", password: "long enough pw" })
          const me = client.withToken(reg.token)
          expect((yield* me.me()).username).toBe("shortlived")
          yield* Effect.sleep("3200 millis")
          expect(yield* Effect.flip(me.me())).toMatchObject({ _tag: "AuthExpired", code: "AUTH_EXPIRED" })
          expect(yield* Effect.flip(me.me())).toMatchObject({ _tag: "AuthFailed" })
          // logging in again works and gives a fresh session
          const again = yield* client.login({ username: "shortlived", password: "long enough pw" })
          expect((yield* client.withToken(again.token).me()).user_id).toBe(reg.user_id)
        }))
    })

    layer(TestServerLive(backend), { excludeTestServices: true })((it) => {
      it.effect("a user lists their sessions: device, address, times, the current one marked, most recent first", () =>
        Effect.gen(function* () {
          yield* owner // the server's first account, whichever test runs first
          const user = yield* newUser("lister")
          const phone = yield* loginAs(user.username, "VoxPhone/2.1 (Android 14)")
          const laptop = yield* loginAs(user.username, "Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0")
          const before = Date.now()

          const seen = yield* sessionsOf(laptop)
          expect(seen).toHaveLength(3)
          expect(seen.map((s) => s.user_agent)).toEqual([
            "Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0",
            "VoxPhone/2.1 (Android 14)",
            expect.any(String) // the SDK's own, at registration
          ])
          expect(seen.map((s) => s.current)).toEqual([true, false, false])
          for (const session of seen) {
            expect(session.ip).toMatch(/127\.0\.0\.1$/)
            const created = Date.parse(session.created_at)
            expect(created).toBeLessThanOrEqual(before)
            expect(created).toBeGreaterThan(before - 60_000)
            expect(Date.parse(session.last_used_at)).toBeGreaterThanOrEqual(created)
            // the default lifetime: 30 days
            expect(Date.parse(session.expires_at) - created).toBe(30 * 86_400_000)
          }
          expect(new Set(seen.map((s) => s.session_id)).size).toBe(3)
          // the same sessions from the phone, the phone's marked
          const fromPhone = yield* sessionsOf(phone)
          expect(fromPhone.find((s) => s.current)!.user_agent).toBe("VoxPhone/2.1 (Android 14)")
          expect(new Set(fromPhone.map((s) => s.session_id))).toEqual(new Set(seen.map((s) => s.session_id)))
          // ids are exact 64-bit numbers on the wire
          const raw = yield* rawEndpointRequest(SessionsApi.listSessions, {}, { token: laptop.token })
          expect(typeof raw.body.sessions[0].session_id === "bigint" || Number.isSafeInteger(raw.body.sessions[0].session_id)).toBe(true)
          expect(BigInt(raw.body.sessions[0].session_id)).toBe(seen[0]!.session_id)
        }))

      it.effect("revoking a session: its token is refused on the very next request; the others go on", () =>
        Effect.gen(function* () {
          const user = yield* newUser("revoker")
          const tablet = yield* loginAs(user.username, "Tablet")
          const tabletId = yield* currentId(tablet)
          expect(yield* works(tablet.token)).toBe(true)

          yield* user.client.call(SessionsApi.revokeSession, { params: { session_id: tabletId } })
          expect(yield* works(tablet.token)).toBe(false)
          expect(yield* works(user.token)).toBe(true)
          expect((yield* sessionsOf(user)).map((s) => s.session_id)).not.toContain(tabletId)
          // ending it again: it is gone
          expect(yield* user.client.call(SessionsApi.revokeSession, { params: { session_id: tabletId } }).pipe(Effect.flip))
            .toMatchObject({ _tag: "SessionNotFound", code: "SESSION_NOT_FOUND" })
        }))

      it.effect("someone else's session, an unknown id and a malformed id are refused, and end nothing", () =>
        Effect.gen(function* () {
          const alice = yield* newUser("alice")
          const mallory = yield* newUser("mallory")
          const aliceId = yield* currentId(alice)

          const foreign = yield* rawEndpointRequest(SessionsApi.revokeSession, { session_id: aliceId }, { token: mallory.token })
          expect(foreign).toMatchObject({ status: 404, body: { error: { code: "SESSION_NOT_FOUND" } } })
          expect(yield* works(alice.token)).toBe(true)
          const unknown = yield* rawEndpointRequest(SessionsApi.revokeSession, { session_id: 12345n }, { token: mallory.token })
          expect(unknown).toMatchObject({ status: 404, body: { error: { code: "SESSION_NOT_FOUND" } } })
          const malformed = yield* rawRequest("DELETE", "/api/v1/auth/sessions/abc", { token: mallory.token })
          expect(malformed).toMatchObject({ status: 400, body: { error: { code: "INVALID_BODY" } } })
          const anonymous = yield* rawEndpointRequest(SessionsApi.revokeSession, { session_id: aliceId })
          expect(anonymous).toMatchObject({ status: 401, body: { error: { code: "AUTH_FAILED" } } })
          expect(yield* works(alice.token)).toBe(true)
          expect(yield* works(mallory.token)).toBe(true)
        }))

      it.effect("revoking the current session is a logout", () =>
        Effect.gen(function* () {
          const user = yield* newUser("selfrevoke")
          yield* user.client.call(SessionsApi.revokeSession, { params: { session_id: yield* currentId(user) } })
          expect(yield* works(user.token)).toBe(false)
        }))

      it.effect("revoke-others ends every session but the current one", () =>
        Effect.gen(function* () {
          const user = yield* newUser("others")
          const a = yield* loginAs(user.username, "A")
          const b = yield* loginAs(user.username, "B")
          const bystander = yield* newUser("bystander")

          expect(yield* user.client.call(SessionsApi.revokeOtherSessions)).toEqual({ revoked: 2 })
          expect(yield* works(a.token)).toBe(false)
          expect(yield* works(b.token)).toBe(false)
          expect(yield* works(user.token)).toBe(true)
          expect(yield* works(bystander.token)).toBe(true)
          expect((yield* sessionsOf(user)).map((s) => s.current)).toEqual([true])
          expect(yield* user.client.call(SessionsApi.revokeOtherSessions)).toEqual({ revoked: 0 })
        }))

      it.effect("a password change ends the other sessions; the old password stops working", () =>
        Effect.gen(function* () {
          const { client } = yield* TestServer
          const user = yield* newUser("pwchange")
          const other = yield* loginAs(user.username, "Stolen laptop")
          const change = (body: typeof SessionsApi.ChangePasswordRequest.Type) =>
            rawEndpointRequest(SessionsApi.changePassword, {}, { token: user.token, body })

          // a wrong current password changes nothing and ends nothing
          expect(yield* change({ current_password: "not the password", new_password: "a brand new password" }))
            .toMatchObject({ status: 401, body: { error: { code: "AUTH_FAILED" } } })
          expect(yield* change({ current_password: PASSWORD, new_password: "short" }))
            .toMatchObject({ status: 400, body: { error: { code: "INVALID_BODY" } } })
          expect(yield* works(other.token)).toBe(true)

          expect(yield* change({ current_password: PASSWORD, new_password: "a brand new password" })).toMatchObject({ status: 204 })
          expect(yield* works(other.token)).toBe(false)
          expect(yield* works(user.token)).toBe(true)
          expect(yield* client.login({ username: user.username, password: PASSWORD }).pipe(Effect.flip))
            .toMatchObject({ _tag: "AuthFailed" })
          expect((yield* client.login({ username: user.username, password: "a brand new password" })).user_id).toBe(user.user_id)
        }))

      it.effect("a ban ends every session of the banned user at once; logging in again meets BANNED", () =>
        Effect.gen(function* () {
          const { client } = yield* TestServer
          const boss = yield* owner
          const user = yield* newUser("banned")
          const second = yield* loginAs(user.username, "Second device")

          yield* boss.client.call(Members.banMember, { params: { user_id: user.user_id }, body: { reason: "spam" } })
          expect(yield* works(user.token)).toBe(false)
          expect(yield* works(second.token)).toBe(false)
          expect(yield* works(boss.token)).toBe(true)
          // the account still exists: it signs in, and is refused where membership counts
          const back = client.withToken((yield* client.login({ username: user.username, password: PASSWORD })).token)
          expect(yield* back.call(Members.listMembers).pipe(Effect.flip)).toMatchObject({ code: "BANNED" })
        }))

      it.scoped("every ending is announced for the gateway once it is committed: which user, which sessions", () =>
        Effect.gen(function* () {
          const { services } = yield* TestServer
          const boss = yield* owner
          const announced = yield* Context.get(services, Revocations).subscribe
          const user = yield* newUser("announced")
          const userId = user.user_id
          const next = Effect.map(Queue.take(announced), (r: Revocation) => r)
          const only = (...ids: ReadonlyArray<Snowflake>) => ({ user_id: userId, session_ids: ids })

          const a = yield* loginAs(user.username, "A")
          const aId = yield* currentId(a)
          yield* user.client.call(SessionsApi.revokeSession, { params: { session_id: aId } })
          expect(yield* next).toEqual(only(aId))

          const b = yield* loginAs(user.username, "B")
          const c = yield* loginAs(user.username, "C")
          const [bId, cId] = [yield* currentId(b), yield* currentId(c)]
          yield* user.client.call(SessionsApi.revokeOtherSessions)
          const both = yield* next
          expect(both.user_id).toBe(userId)
          expect([...(both.session_ids as ReadonlyArray<bigint>)].sort()).toEqual([bId, cId].sort())

          const d = yield* loginAs(user.username, "D")
          const dId = yield* currentId(d)
          yield* rawEndpointRequest(SessionsApi.changePassword, {}, {
            token: user.token,
            body: { current_password: PASSWORD, new_password: "another long password" }
          })
          expect(yield* next).toEqual(only(dId))

          const e = yield* loginAs(user.username, "E", "another long password")
          const eId = yield* currentId(e)
          yield* e.client.logout()
          expect(yield* next).toEqual(only(eId))

          yield* boss.client.call(Members.banMember, { params: { user_id: user.user_id }, body: {} })
          expect(yield* next).toEqual({ user_id: userId, session_ids: "all" })
          // nothing else was announced about this user
          const rest = (yield* Queue.takeAll(announced)).pipe((chunk) => [...chunk].filter((r) => r.user_id === userId))
          expect(rest).toEqual([])
        }))
    })
  })
}
