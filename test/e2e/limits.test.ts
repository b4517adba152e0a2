// Server limits end to end: GET/PATCH /api/v1/server/limits (MANAGE_SERVER), stored in server_limits,
// applied to the very next request, audited; unknown names and out-of-range values change nothing.
import { describe, expect, layer } from "@effect/vitest"
import { Effect, Schema } from "effect"
import * as AuditApi from "../../src/protocol/api/audit.js"
import * as ServerApi from "../../src/protocol/api/server.js"
import { IntColumn } from "../../src/runtime/db/columns.js"
import { backends } from "../support/backends.js"
import { withSuiteDatabase } from "../support/db.js"
import { rawRequest } from "../support/http.js"
import { owner, PASSWORD, registered, TestServer, TestServerLive, uniqueName } from "../support/server.js"

/** The rows of server_limits, read straight from the database. */
const storedLimits = Effect.map(
  withSuiteDatabase((sql) => sql`SELECT name, value FROM server_limits ORDER BY name`),
  (rows) => Object.fromEntries(rows.map((r) => [String(r.name), Schema.decodeUnknownSync(IntColumn)(r.value)]))
)

for (const backend of backends) {
  describe(`server limits on ${backend.name}`, () => {
    layer(TestServerLive(backend), { excludeTestServices: true })((it) => {
      it.effect("GET returns every limit, the defaults on a fresh server; only MANAGE_SERVER may read or change them", () =>
        Effect.gen(function* () {
          const { client } = yield* TestServer
          const admin = yield* owner
          expect(yield* admin.client.call(ServerApi.getLimits)).toEqual(ServerApi.DEFAULT_LIMITS)

          const member = yield* registered(client, uniqueName("member"))
          const read = yield* member.client.call(ServerApi.getLimits).pipe(Effect.flip)
          expect(read).toMatchObject({ _tag: "Forbidden", missing_permission: "MANAGE_SERVER" })
          const write = yield* rawRequest("PATCH", "/api/v1/server/limits", { token: member.token, body: '{"max_members": 1}' })
          expect(write).toMatchObject({ status: 403, body: { error: { code: "FORBIDDEN", missing_permission: "MANAGE_SERVER" } } })
          const anonymous = yield* rawRequest("GET", "/api/v1/server/limits")
          expect(anonymous.status).toBe(401)
          expect(yield* storedLimits).toEqual({})
        }))

      it.effect("PATCH changes only the named limits, stores them, answers with all of them and is audited", () =>
        Effect.gen(function* () {
          const admin = yield* owner
          const updated = yield* admin.client.call(ServerApi.updateLimits, { body: { max_message_length: 8000, max_feeds: 20 } })
          expect(updated).toEqual({ ...ServerApi.DEFAULT_LIMITS, max_message_length: 8000, max_feeds: 20 })
          expect(yield* admin.client.call(ServerApi.getLimits)).toEqual(updated)
          expect(yield* storedLimits).toEqual({ max_feeds: 20, max_message_length: 8000 })

          // the same name again replaces its row
          const again = yield* admin.client.call(ServerApi.updateLimits, { body: { max_feeds: 30 } })
          expect(again).toEqual({ ...updated, max_feeds: 30 })
          expect(yield* storedLimits).toEqual({ max_feeds: 30, max_message_length: 8000 })

          const entries = (yield* admin.client.call(AuditApi.queryAuditLog, { query: { event_type: "server.limits_update" } })).entries
          expect(entries.map((e) => e.metadata)).toEqual(expect.arrayContaining([
            { max_message_length: 8000, max_feeds: 20 },
            { max_feeds: 30 }
          ]))
          expect(entries.every((e) => e.actor_id === admin.user_id)).toBe(true)

          // an empty patch changes nothing and records nothing
          expect(yield* admin.client.call(ServerApi.updateLimits, { body: {} })).toEqual(again)
          const after = (yield* admin.client.call(AuditApi.queryAuditLog, { query: { event_type: "server.limits_update" } })).entries
          expect(after).toHaveLength(entries.length)
        }))

      it.effect("a lowered max_members applies to the very next registration, which creates nothing", () =>
        Effect.gen(function* () {
          const { client } = yield* TestServer
          const admin = yield* owner
          const { member_count } = yield* admin.client.call(ServerApi.getServer)
          yield* admin.client.call(ServerApi.updateLimits, { body: { max_members: member_count } })
          const name = uniqueName("late")
          const full = yield* rawRequest("POST", "/api/v1/auth/register", { body: JSON.stringify({ username: name, password: PASSWORD }) })
          expect(full).toMatchObject({ status: 503, body: { error: { code: "SERVER_FULL" } } })
          expect((yield* admin.client.call(ServerApi.getServer)).member_count).toBe(member_count)
          expect((yield* client.login({ username: name, password: PASSWORD }).pipe(Effect.flip))._tag).toBe("AuthFailed")

          yield* admin.client.call(ServerApi.updateLimits, { body: { max_members: member_count + 1 } })
          yield* client.register({ username: name, password: PASSWORD })
          expect((yield* admin.client.call(ServerApi.getServer)).member_count).toBe(member_count + 1)
          yield* admin.client.call(ServerApi.updateLimits, { body: { max_members: ServerApi.DEFAULT_LIMITS.max_members } })
        }))

      it.effect("unknown names, values out of range and wrong types are 400 and change nothing", () =>
        Effect.gen(function* () {
          const admin = yield* owner
          const before = yield* admin.client.call(ServerApi.getLimits)
          const stored = yield* storedLimits
          const audited = (yield* admin.client.call(AuditApi.queryAuditLog, { query: { event_type: "server.*" } })).entries.length
          const bodies = [
            '{"max_users": 5}',
            '{"max_feeds": 10, "bogus": 1}',
            '{"limits": {"max_feeds": 10}}',
            '{"max_members": 0}',
            '{"max_members": 10000001}',
            '{"max_roles": 1}',
            '{"max_feeds": 10001}',
            '{"max_feeds": -3}',
            '{"max_feeds": 1.5}',
            '{"max_feeds": "10"}',
            '{"max_feeds": null}',
            '{"max_feeds": 1e400}',
            '[]',
            '"max_feeds"',
            '{"max_feeds": '
          ]
          for (const body of bodies) {
            const response = yield* rawRequest("PATCH", "/api/v1/server/limits", { token: admin.token, body })
            expect(response.status, body).toBe(400)
            expect(response.body.error.code, body).toBe("INVALID_BODY")
          }
          const unknown = yield* rawRequest("PATCH", "/api/v1/server/limits", { token: admin.token, body: '{"max_users": 5}' })
          expect(unknown.body.error.issues[0].path).toEqual(["max_users"])
          const range = yield* rawRequest("PATCH", "/api/v1/server/limits", { token: admin.token, body: '{"max_roles": 1}' })
          expect(range.body.error.message).toContain("between 2 and 1000")

          expect(yield* admin.client.call(ServerApi.getLimits)).toEqual(before)
          expect(yield* storedLimits).toEqual(stored)
          const after = (yield* admin.client.call(AuditApi.queryAuditLog, { query: { event_type: "server.*" } })).entries.length
          expect(after).toBe(audited)
        }))
    })
  })
}
