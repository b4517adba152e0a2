// Issue 3, acceptance 5: every administrative action leaves an audit entry, and the log filters by
// event type (exact or `category.*`), actor, target and time, newest first, page by page.
import { describe, expect, layer } from "@effect/vitest"
import { Effect } from "effect"
import * as Audit from "../../src/protocol/api/audit.js"
import * as Invites from "../../src/protocol/api/invites.js"
import * as Members from "../../src/protocol/api/members.js"
import * as Roles from "../../src/protocol/api/roles.js"
import * as Server from "../../src/protocol/api/server.js"
import * as Spaces from "../../src/protocol/api/spaces.js"
import type { AuditEntry } from "../../src/protocol/api/audit.js"
import { Permission } from "../../src/protocol/permissions.js"
import { backends } from "../support/backends.js"
import { registered, TestServer, TestServerLive, uniqueName } from "../support/server.js"

for (const backend of backends) {
  describe(`audit log on ${backend.name}`, () => {
    layer(TestServerLive(backend), { excludeTestServices: true })((it) => {
      it.effect("records every administrative action and filters by type, actor, target and time", () =>
        Effect.gen(function* () {
          const { client } = yield* TestServer
          const owner = yield* registered(client, uniqueName("owner"))
          const alice = yield* registered(client, uniqueName("alice"))
          const bob = yield* registered(client, uniqueName("bob"))
          const carol = yield* registered(client, uniqueName("carol"))
          const o = owner.client
          const started = Math.floor(Date.now() / 1000)

          yield* o.call(Server.updateServer, { body: { description: "audited" } })
          yield* o.call(Server.updateLimits, { body: { max_roles: 100 } })
          const category = yield* o.call(Spaces.createCategory, { body: { name: "cat" } })
          yield* o.call(Spaces.updateCategory, { params: { category_id: category.category_id }, body: { name: "cat2" } })
          const feed = yield* o.call(Spaces.createFeed, { body: { name: "feed", type: "text" } })
          yield* o.call(Spaces.updateFeed, { params: { feed_id: feed.feed_id }, body: { topic: "t" } })
          const room = yield* o.call(Spaces.createRoom, { body: { name: "room", type: "voice" } })
          yield* o.call(Spaces.updateRoom, { params: { room_id: room.room_id }, body: { user_limit: 5 } })
          const role = yield* o.call(Roles.createRole, { body: { name: "mod", permissions: Permission.KICK_MEMBERS } })
          yield* o.call(Roles.updateRole, { params: { role_id: role.role_id }, body: { name: "moderator" } })
          const target = { feed_id: feed.feed_id, target_type: "role" as const, target_id: role.role_id }
          yield* o.call(Spaces.setFeedOverride, { params: target, body: { allow: Permission.SEND_MESSAGES, deny: 0n as never } })
          yield* o.call(Spaces.deleteFeedOverride, { params: target })
          yield* o.call(Roles.assignRole, { params: { user_id: alice.user_id, role_id: role.role_id } })
          yield* o.call(Roles.revokeRole, { params: { user_id: alice.user_id, role_id: role.role_id } })
          yield* o.call(Members.updateMember, { params: { user_id: alice.user_id }, body: { nickname: "Al" } })
          yield* o.call(Members.kickMember, { params: { user_id: bob.user_id }, body: { reason: "noise" } })
          yield* o.call(Members.banMember, { params: { user_id: carol.user_id }, body: { reason: "spam", delete_msg_days: 1 } })
          yield* o.call(Members.unbanMember, { params: { user_id: carol.user_id } })
          const invite = yield* o.call(Invites.createInvite, { body: { max_uses: 5 } })
          yield* bob.client.call(Members.joinServer, { body: { invite_code: invite.code } })
          yield* o.call(Invites.deleteInvite, { params: { code: invite.code } })
          yield* o.call(Roles.deleteRole, { params: { role_id: role.role_id } })
          yield* o.call(Spaces.deleteRoom, { params: { room_id: room.room_id } })
          yield* o.call(Spaces.deleteFeed, { params: { feed_id: feed.feed_id } })
          yield* o.call(Spaces.deleteCategory, { params: { category_id: category.category_id } })

          const all: Array<AuditEntry> = []
          let cursor: string | undefined
          do {
            const page = yield* o.call(Audit.queryAuditLog, { query: { limit: 7, ...(cursor === undefined ? {} : { cursor }) } })
            all.push(...page.entries)
            cursor = page.cursor ?? undefined
          } while (cursor !== undefined)

          const types = all.map((e) => e.event_type)
          expect([...types].reverse()).toEqual([
            "server.update", "server.limits_update",
            "category.create", "category.update", "feed.create", "feed.update", "room.create", "room.update",
            "role.create", "role.update", "permission_override.update", "permission_override.delete",
            "role.assign", "role.revoke", "member.update", "member.kick", "member.ban", "member.unban",
            "invite.create", "invite.use", "invite.delete",
            "role.delete", "room.delete", "feed.delete", "category.delete"
          ])
          // newest first, ids strictly decreasing, every entry by its actor and with a time
          expect(all.map((e) => e.entry_id)).toEqual([...all.map((e) => e.entry_id)].sort((a, b) => (a > b ? -1 : 1)))
          for (const e of all) expect(e.timestamp).toBeGreaterThanOrEqual(started)
          expect(all.find((e) => e.event_type === "invite.use")).toMatchObject({ actor_id: bob.user_id, target_id: bob.user_id })
          expect(all.find((e) => e.event_type === "member.kick")).toMatchObject({
            actor_id: owner.user_id, target_id: bob.user_id, metadata: { reason: "noise" }
          })

          const members = yield* o.call(Audit.queryAuditLog, { query: { event_type: "member.*" } })
          expect(members.entries.map((e) => e.event_type).sort()).toEqual(["member.ban", "member.kick", "member.unban", "member.update"])
          const bans = yield* o.call(Audit.queryAuditLog, { query: { event_type: "member.ban" } })
          expect(bans.entries).toHaveLength(1)
          expect(bans.entries[0]!.metadata).toMatchObject({ reason: "spam", delete_msg_days: 1 })
          const byBob = yield* o.call(Audit.queryAuditLog, { query: { actor_id: bob.user_id } })
          expect(byBob.entries.map((e) => e.event_type)).toEqual(["invite.use"])
          const aboutAlice = yield* o.call(Audit.queryAuditLog, { query: { target_id: alice.user_id, event_type: "role.*" } })
          expect(aboutAlice.entries.map((e) => e.event_type)).toEqual(["role.revoke", "role.assign"])
          const future = yield* o.call(Audit.queryAuditLog, { query: { after: started + 3600 } })
          expect(future.entries).toEqual([])
          const past = yield* o.call(Audit.queryAuditLog, { query: { before: started } })
          expect(past.entries.every((e) => e.timestamp < started)).toBe(true)

          const bad = yield* o.call(Audit.queryAuditLog, { query: { cursor: "not-a-cursor" } }).pipe(Effect.flip)
          expect(bad).toMatchObject({ code: "INVALID_BODY" })
        }))
    })
  })
}
