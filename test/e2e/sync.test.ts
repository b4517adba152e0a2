// Issue 3, acceptance 6: POST /sync returns exactly the events of the asked categories since the given
// time, in order, only those the caller may see; beyond retention it asks for a full refetch.
import { describe, expect, layer } from "@effect/vitest"
import { Effect } from "effect"
import * as Invites from "../../src/protocol/api/invites.js"
import * as Members from "../../src/protocol/api/members.js"
import * as Roles from "../../src/protocol/api/roles.js"
import * as Spaces from "../../src/protocol/api/spaces.js"
import * as Sync from "../../src/protocol/api/sync.js"
import { Permission } from "../../src/protocol/permissions.js"
import { backends } from "../support/backends.js"
import { rawRequest } from "../support/http.js"
import { registered, TestServer, TestServerLive, uniqueName } from "../support/server.js"

for (const backend of backends) {
  describe(`sync on ${backend.name}`, () => {
    layer(TestServerLive(backend, { events: { retention: "1 hour" } }), { excludeTestServices: true })((it) => {
      it.effect("returns the asked categories since a time, oldest first, and nothing the caller may not see", () =>
        Effect.gen(function* () {
          const { client } = yield* TestServer
          const owner = yield* registered(client, uniqueName("owner"))
          const member = yield* registered(client, uniqueName("member"))
          const o = owner.client
          const before = yield* o.call(Roles.createRole, { body: { name: "before" } })

          yield* Effect.sleep("5 millis")
          const since = Date.now() / 1000
          yield* Effect.sleep("5 millis")
          const role = yield* o.call(Roles.createRole, { body: { name: "helper" } })
          const feed = yield* o.call(Spaces.createFeed, { body: { name: "open", type: "text" } })
          const everyone = (yield* o.call(Roles.listRoles, { query: {} })).items.find((r) => r.name === "@everyone")!
          const hidden = yield* o.call(Spaces.createFeed, {
            body: {
              name: "staff",
              type: "text",
              permission_overrides: [{ target_type: "role", target_id: everyone.role_id, allow: 0n as never, deny: Permission.VIEW_SPACE }]
            }
          })
          const late = yield* registered(client, uniqueName("late"))
          yield* o.call(Roles.assignRole, { params: { user_id: late.user_id, role_id: role.role_id } })
          yield* o.call(Roles.updateRole, { params: { role_id: role.role_id }, body: { color: 255 } })
          yield* o.call(Members.banMember, { params: { user_id: late.user_id }, body: {} })
          const invite = yield* o.call(Invites.createInvite, { body: {} })

          const roles = yield* member.client.call(Sync.sync, { body: { since_timestamp: since, categories: ["roles"] } })
          expect(roles.full_refetch).toBe(false)
          expect(roles.events.map((e) => e.type)).toEqual(["role.create", "role.assign", "role.update"])
          expect(roles.events[0]!.payload).toMatchObject({ role_id: role.role_id, name: "helper" })
          expect(roles.events.map((e) => e.payload)).not.toContainEqual(expect.objectContaining({ role_id: before.role_id }))
          expect(roles.server_timestamp).toBeGreaterThanOrEqual(since)
          for (const e of roles.events) expect(e.timestamp).toBeGreaterThan(since)

          const people = yield* member.client.call(Sync.sync, { body: { since_timestamp: since, categories: ["members", "bans", "nonsense"] } })
          expect(people.events.map((e) => e.type)).toEqual(["member.join", "member.update", "member.ban", "member.leave"])
          const ids = people.events.map((e) => e.event_id)
          expect(ids).toEqual([...ids].sort((a, b) => (a < b ? -1 : 1)))

          // The member cannot see the staff feed, the owner can; invites go to those who may create them.
          const memberFeeds = yield* member.client.call(Sync.sync, { body: { since_timestamp: since, categories: ["feeds"] } })
          expect(memberFeeds.events.map((e) => (e.payload as { feed_id: number }).feed_id)).toEqual([feed.feed_id])
          const ownerFeeds = yield* o.call(Sync.sync, { body: { since_timestamp: since, categories: ["feeds", "invites"] } })
          expect(ownerFeeds.events.map((e) => e.type)).toEqual(["feed.create", "feed.create", "invite.create"])
          expect(ownerFeeds.events.map((e) => (e.payload as { feed_id: number | null }).feed_id)).toEqual([feed.feed_id, hidden.feed_id, null])
          expect(ownerFeeds.events[2]!.payload).toMatchObject({ code: invite.code })

          const nothing = yield* member.client.call(Sync.sync, { body: { since_timestamp: Date.now() / 1000 + 60, categories: ["roles", "members"] } })
          expect(nothing).toMatchObject({ events: [], full_refetch: false })
        }))

      it.effect("asks for a full refetch beyond the retention window", () =>
        Effect.gen(function* () {
          const { client } = yield* TestServer
          const someone = yield* registered(client, uniqueName("someone"))
          const old = yield* someone.client.call(Sync.sync, {
            body: { since_timestamp: Date.now() / 1000 - 2 * 3600, categories: ["members"] }
          })
          expect(old).toMatchObject({ events: [], full_refetch: true })
          const bad = yield* rawRequest("POST", Sync.sync.path, {
            token: someone.token,
            body: JSON.stringify({ since_timestamp: -1, categories: [] })
          })
          expect(bad).toMatchObject({ status: 400, body: { error: { code: "INVALID_BODY" } } })
        }))
    })
  })
}
