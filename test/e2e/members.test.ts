// Members and bans end to end over HTTP, on SQLite and (when configured) PostgreSQL: the member list
// and its cursor, nicknames, leaving, kicks and bans with the hierarchy and the owner and
// last-administrator rules, and the audit entries they leave behind.
import { SqlClient } from "@effect/sql"
import { describe, expect, layer } from "@effect/vitest"
import { Effect, Schema } from "effect"
import type { VoxClient } from "../../src/client/VoxClient.js"
import * as MembersApi from "../../src/protocol/api/members.js"
import { UserId } from "../../src/protocol/ids.js"
import { Permission } from "../../src/protocol/permissions.js"
import { decodeRows, IntColumn } from "../../src/runtime/db/columns.js"
import { backends } from "../support/backends.js"
import { auditEntries, countRows, eventsOfType, TestServerWithDatabaseLive } from "../support/db.js"
import { rawRequest } from "../support/http.js"
import { newUser, owner, PASSWORD, TestServer, uniqueName } from "../support/server.js"

const asUser = (id: number) => Schema.decodeSync(UserId)(id)

// Roles are set up in SQL (and the access epoch bumped, as the entity's own writes do), so this suite
// depends only on the member endpoints it tests.
const bumpEpoch = Effect.flatMap(SqlClient.SqlClient, (sql) => sql`UPDATE server SET access_epoch = access_epoch + 1 WHERE id = 1`)

const makeRole = (name: string, permissions: bigint, position: number) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const rows = yield* sql`INSERT INTO roles (name, permissions, position, is_everyone, created_at)
      VALUES (${name}, ${permissions.toString()}, ${position}, 0, ${Date.now()}) RETURNING id`.pipe(
      Effect.flatMap(decodeRows(Schema.Struct({ id: IntColumn })))
    )
    yield* bumpEpoch
    return rows[0]!.id
  })

const assign = (userId: number, roleId: number) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    yield* sql`INSERT INTO member_roles (user_id, role_id) VALUES (${userId}, ${roleId})`
    yield* bumpEpoch
  })

/** A fresh member holding a new role with these permissions at this position. */
const moderator = (prefix: string, permissions: bigint, position: number) =>
  Effect.gen(function* () {
    const user = yield* newUser(prefix)
    yield* assign(user.user_id, yield* makeRole(uniqueName(`${prefix}_role`), permissions, position))
    return user
  })

/** A client of a user signed in afresh (a ban ends every session the user had). */
const signInAgain = (user: { readonly username: string }) =>
  Effect.flatMap(TestServer, ({ client }) =>
    Effect.map(client.login({ username: user.username, password: PASSWORD }), (r) => client.withToken(r.token)))

/** The audit entries naming this user as their target, oldest first. */
const auditOf = (targetId: number) => auditEntries((sql) => sql`target_id = ${targetId}`)

/** Everything a refused request must leave untouched. */
const snapshot = Effect.all({
  members: countRows("members"),
  member_roles: countRows("member_roles"),
  bans: countRows("bans"),
  audit: countRows("audit_log"),
  events: countRows("event_log")
})

/** The payloads of the events of this type about this user, oldest first. */
const eventsOf = (type: string, userId: number) =>
  Effect.map(eventsOfType(type), (events) =>
    events.map((e) => e.payload as { user_id: number }).filter((p) => p.user_id === userId))

const listAll = (client: VoxClient, limit: number) =>
  Effect.gen(function* () {
    const seen: Array<number> = []
    let after: string | undefined
    for (let pages = 0; pages < 1000; pages++) {
      const page = yield* client.call(MembersApi.listMembers, {
        query: { limit, ...(after === undefined ? {} : { after }) }
      })
      expect(page.items.length).toBeLessThanOrEqual(limit)
      seen.push(...page.items.map((m) => m.user_id))
      if (page.cursor === null) return seen
      after = page.cursor
    }
    return yield* Effect.dieMessage("the cursor never ended")
  })

const memberIds = (client: VoxClient) => Effect.map(listAll(client, 1000), (ids) => new Set(ids))

const kick = (client: VoxClient, userId: number, reason?: string) =>
  client.call(MembersApi.kickMember, {
    params: { user_id: asUser(userId) },
    ...(reason === undefined ? {} : { body: { reason } })
  })

const ban = (client: VoxClient, userId: number, body?: { reason?: string; delete_msg_days?: number }) =>
  client.call(MembersApi.banMember, { params: { user_id: asUser(userId) }, ...(body === undefined ? {} : { body }) })

const unban = (client: VoxClient, userId: number) =>
  client.call(MembersApi.unbanMember, { params: { user_id: asUser(userId) } })

const nickname = (client: VoxClient, userId: number, value: string | null) =>
  client.call(MembersApi.updateMember, { params: { user_id: asUser(userId) }, body: { nickname: value } })

const listBans = (client: VoxClient, limit = 1000) =>
  Effect.gen(function* () {
    const items: Array<MembersApi.Ban> = []
    let after: string | undefined
    for (let pages = 0; pages < 1000; pages++) {
      const page = yield* client.call(MembersApi.listBans, { query: { limit, ...(after === undefined ? {} : { after }) } })
      items.push(...page.items)
      if (page.cursor === null) return items
      after = page.cursor
    }
    return yield* Effect.dieMessage("the cursor never ended")
  })

const UNKNOWN_USER = 4_000_000_000

for (const backend of backends) {
  describe(`members on ${backend.name}`, () => {
    layer(TestServerWithDatabaseLive(backend), { excludeTestServices: true })((it) => {
      it.effect("GET /members: limit=2 walks every member exactly once, in id order", () =>
        Effect.gen(function* () {
          const boss = yield* owner
          const users: Array<Effect.Effect.Success<ReturnType<typeof newUser>>> = []
          for (let i = 0; i < 5; i++) users.push(yield* newUser("lister"))

          const all = yield* listAll(users[0]!.client, 2)
          expect(all).toEqual([...all].sort((a, b) => a - b))
          expect(new Set(all).size).toBe(all.length)
          for (const u of [boss, ...users]) expect(all).toContain(u.user_id)
          expect(all.length).toBe((yield* boss.client.server()).member_count)
          expect(yield* listAll(boss.client, 1000)).toEqual(all)
          // the default page holds up to 100
          expect((yield* boss.client.call(MembersApi.listMembers)).items.map((m) => m.user_id)).toEqual(all)

          const one = yield* users[1]!.client.call(MembersApi.getMember, { params: { user_id: users[2]!.user_id } })
          expect(one).toMatchObject({ user_id: users[2]!.user_id, nickname: null, role_ids: [], avatar: null })
          expect(new Date(one.joined_at).getTime()).toBeGreaterThan(0)
          const ownerMember = yield* users[1]!.client.call(MembersApi.getMember, { params: { user_id: boss.user_id } })
          expect(ownerMember.role_ids.length).toBe(1)

          const missing = yield* users[1]!.client.call(MembersApi.getMember, { params: { user_id: asUser(UNKNOWN_USER) } }).pipe(Effect.flip)
          expect(missing).toMatchObject({ code: "USER_NOT_FOUND" })

          const badCursor = yield* rawRequest("GET", "/api/v1/members?after=not-a-cursor", { token: boss.token })
          expect(badCursor).toMatchObject({ status: 400, body: { error: { code: "INVALID_BODY", location: "query" } } })
          const tooMany = yield* rawRequest("GET", "/api/v1/members?limit=1001", { token: boss.token })
          expect(tooMany).toMatchObject({ status: 400, body: { error: { code: "INVALID_BODY", location: "query" } } })
        }))

      it.effect("nicknames: one's own with CHANGE_NICKNAME, someone else's with MANAGE_NICKNAMES below one only", () =>
        Effect.gen(function* () {
          const boss = yield* owner
          const plain = yield* newUser("plain")
          const mod = yield* moderator("nickmod", Permission.MANAGE_NICKNAMES, 20)
          const senior = yield* moderator("senior", Permission.MANAGE_NICKNAMES, 30)

          const own = yield* plain.client.call(MembersApi.updateOwnMember, { body: { nickname: "Plainly" } })
          expect(own).toMatchObject({ user_id: plain.user_id, nickname: "Plainly" })
          expect(yield* boss.client.call(MembersApi.getMember, { params: { user_id: plain.user_id } })).toMatchObject({ nickname: "Plainly" })
          expect(yield* auditOf(plain.user_id)).toEqual([]) // one's own nickname is not an administrative action

          const cleared = yield* plain.client.call(MembersApi.updateOwnMember, { body: { nickname: null } })
          expect(cleared.nickname).toBeNull()

          const set = yield* nickname(mod.client, plain.user_id, "Renamed")
          expect(set).toMatchObject({ user_id: plain.user_id, nickname: "Renamed" })
          const update = (yield* eventsOf("MEMBER_UPDATE", plain.user_id)).at(-1)
          expect(update).toMatchObject({ user_id: plain.user_id, nickname: "Renamed", username: plain.username })
          expect(yield* auditOf(plain.user_id)).toEqual([
            { event_type: "member.update", actor_id: mod.user_id, target_id: plain.user_id, metadata: { nickname: "Renamed" } }
          ])

          const before = yield* snapshot
          const upward = yield* nickname(mod.client, senior.user_id, "Junior").pipe(Effect.flip)
          expect(upward).toMatchObject({ code: "ROLE_HIERARCHY" })
          const atOwner = yield* nickname(senior.client, boss.user_id, "Boss").pipe(Effect.flip)
          expect(atOwner).toMatchObject({ code: "ROLE_HIERARCHY" })
          const noPermission = yield* nickname(plain.client, mod.user_id, "Mod").pipe(Effect.flip)
          expect(noPermission).toMatchObject({ code: "FORBIDDEN", missing_permission: "MANAGE_NICKNAMES" })
          const blank = yield* rawRequest("PATCH", `/api/v1/members/${plain.user_id}`, { token: mod.token, body: '{"nickname": "  "}' })
          expect(blank).toMatchObject({ status: 400, body: { error: { code: "INVALID_BODY" } } })
          expect(yield* snapshot).toEqual(before)
          expect((yield* boss.client.call(MembersApi.getMember, { params: { user_id: senior.user_id } })).nickname).toBeNull()

          expect((yield* nickname(senior.client, mod.user_id, "Below")).nickname).toBe("Below")
          expect((yield* boss.client.call(MembersApi.updateOwnMember, { body: { nickname: "The Owner" } })).nickname).toBe("The Owner")
          expect((yield* nickname(boss.client, senior.user_id, "Trusted")).nickname).toBe("Trusted")
          const unknown = yield* nickname(boss.client, UNKNOWN_USER, "Ghost").pipe(Effect.flip)
          expect(unknown).toMatchObject({ code: "USER_NOT_FOUND" })
        }))

      it.effect("leave: the session loses member endpoints at once, the account stays; the owner cannot leave", () =>
        Effect.gen(function* () {
          const boss = yield* owner
          const leaver = yield* newUser("leaver")
          expect((yield* leaver.client.call(MembersApi.listMembers)).items.length).toBeGreaterThan(0)

          yield* leaver.client.call(MembersApi.leaveServer)
          const after = yield* leaver.client.call(MembersApi.listMembers).pipe(Effect.flip)
          expect(after).toMatchObject({ code: "FORBIDDEN" })
          expect((yield* leaver.client.me()).user_id).toBe(leaver.user_id)
          expect(yield* memberIds(boss.client)).not.toContain(leaver.user_id)
          expect(yield* eventsOf("MEMBER_LEAVE", leaver.user_id)).toHaveLength(1)
          const again = yield* leaver.client.call(MembersApi.leaveServer).pipe(Effect.flip)
          expect(again).toMatchObject({ code: "FORBIDDEN" })

          const before = yield* snapshot
          const ownerLeaves = yield* boss.client.call(MembersApi.leaveServer).pipe(Effect.flip)
          expect(ownerLeaves).toMatchObject({ code: "FORBIDDEN" })
          expect(yield* snapshot).toEqual(before)
          expect(yield* memberIds(boss.client)).toContain(boss.user_id)
        }))

      it.effect("kick: the kicked session gets 403 on the next request and the member is gone from the list", () =>
        Effect.gen(function* () {
          const boss = yield* owner
          const mod = yield* moderator("kickmod", Permission.KICK_MEMBERS, 40)
          const target = yield* newUser("kicked")
          yield* target.client.call(MembersApi.updateOwnMember, { body: { nickname: "Soon gone" } })
          expect(yield* memberIds(target.client)).toContain(target.user_id)

          yield* kick(mod.client, target.user_id, "spam")
          const denied = yield* target.client.call(MembersApi.listMembers).pipe(Effect.flip)
          expect(denied).toMatchObject({ code: "FORBIDDEN" })
          const ownNick = yield* target.client.call(MembersApi.updateOwnMember, { body: { nickname: "Back?" } }).pipe(Effect.flip)
          expect(ownNick).toMatchObject({ code: "FORBIDDEN" })
          expect((yield* target.client.me()).user_id).toBe(target.user_id)

          expect(yield* memberIds(boss.client)).not.toContain(target.user_id)
          const gone = yield* boss.client.call(MembersApi.getMember, { params: { user_id: target.user_id } }).pipe(Effect.flip)
          expect(gone).toMatchObject({ code: "USER_NOT_FOUND" })
          expect(yield* eventsOf("MEMBER_LEAVE", target.user_id)).toHaveLength(1)
          expect((yield* auditOf(target.user_id)).filter((a) => a.event_type === "member.kick")).toEqual([
            { event_type: "member.kick", actor_id: mod.user_id, target_id: target.user_id, metadata: { reason: "spam" } }
          ])

          // kicking someone who is no longer a member, and kicking without a body
          const twice = yield* kick(mod.client, target.user_id).pipe(Effect.flip)
          expect(twice).toMatchObject({ code: "USER_NOT_FOUND" })
          const other = yield* newUser("kicked")
          yield* kick(mod.client, other.user_id)
          expect((yield* auditOf(other.user_id))[0]).toMatchObject({ event_type: "member.kick", metadata: {} })
        }))

      it.effect("refused kicks and bans change nothing", () =>
        Effect.gen(function* () {
          const boss = yield* owner
          const mod = yield* moderator("refmod", Permission.KICK_MEMBERS | Permission.BAN_MEMBERS, 50)
          const peer = yield* moderator("peer", Permission.KICK_MEMBERS, 50)
          const senior = yield* moderator("refsenior", Permission.KICK_MEMBERS, 60)
          const plain = yield* newUser("bystander")
          const before = yield* snapshot

          expect(yield* kick(mod.client, boss.user_id).pipe(Effect.flip)).toMatchObject({ code: "FORBIDDEN" })
          expect(yield* ban(mod.client, boss.user_id).pipe(Effect.flip)).toMatchObject({ code: "FORBIDDEN" })
          expect(yield* kick(mod.client, senior.user_id).pipe(Effect.flip)).toMatchObject({ code: "ROLE_HIERARCHY" })
          expect(yield* ban(mod.client, senior.user_id).pipe(Effect.flip)).toMatchObject({ code: "ROLE_HIERARCHY" })
          expect(yield* kick(mod.client, peer.user_id).pipe(Effect.flip)).toMatchObject({ code: "ROLE_HIERARCHY" })
          expect(yield* kick(mod.client, mod.user_id).pipe(Effect.flip)).toMatchObject({ code: "FORBIDDEN" })
          expect(yield* ban(mod.client, mod.user_id).pipe(Effect.flip)).toMatchObject({ code: "FORBIDDEN" })
          expect(yield* kick(mod.client, UNKNOWN_USER).pipe(Effect.flip)).toMatchObject({ code: "USER_NOT_FOUND" })
          expect(yield* ban(mod.client, UNKNOWN_USER).pipe(Effect.flip)).toMatchObject({ code: "USER_NOT_FOUND" })
          expect(yield* unban(mod.client, plain.user_id).pipe(Effect.flip)).toMatchObject({ code: "USER_NOT_FOUND" })
          expect(yield* kick(plain.client, mod.user_id).pipe(Effect.flip)).toMatchObject({
            code: "FORBIDDEN",
            missing_permission: "KICK_MEMBERS"
          })
          expect(yield* ban(peer.client, plain.user_id).pipe(Effect.flip)).toMatchObject({
            code: "FORBIDDEN",
            missing_permission: "BAN_MEMBERS"
          })
          expect(yield* plain.client.call(MembersApi.listBans).pipe(Effect.flip)).toMatchObject({
            code: "FORBIDDEN",
            missing_permission: "BAN_MEMBERS"
          })

          const tooManyDays = yield* rawRequest("PUT", `/api/v1/bans/${plain.user_id}`, {
            token: mod.token,
            body: '{"reason": "x", "delete_msg_days": 15}'
          })
          expect(tooManyDays).toMatchObject({ status: 400, body: { error: { code: "INVALID_BODY", location: "body" } } })
          const fractional = yield* rawRequest("PUT", `/api/v1/bans/${plain.user_id}`, { token: mod.token, body: '{"delete_msg_days": 1.5}' })
          expect(fractional.status).toBe(400)
          const longReason = yield* rawRequest("DELETE", `/api/v1/members/${plain.user_id}`, {
            token: mod.token,
            body: JSON.stringify({ reason: "x".repeat(513) })
          })
          expect(longReason.status).toBe(400)

          expect(yield* snapshot).toEqual(before)
          const ids = yield* memberIds(boss.client)
          for (const u of [boss, mod, peer, senior, plain]) expect(ids).toContain(u.user_id)
        }))

      it.effect("ban: BANNED on the next request, listed with its reason; unban lifts it without restoring membership", () =>
        Effect.gen(function* () {
          const boss = yield* owner
          const mod = yield* moderator("banmod", Permission.BAN_MEMBERS, 70)
          const target = yield* newUser("banned")
          const outsider = yield* newUser("outsider")
          yield* outsider.client.call(MembersApi.leaveServer)
          expect(yield* listBans(mod.client)).toEqual([])

          yield* ban(mod.client, target.user_id, { reason: "rule 3", delete_msg_days: 7 })
          // the ban signed them out; signed in again, they are BANNED wherever membership counts
          expect(yield* target.client.me().pipe(Effect.flip)).toMatchObject({ code: "AUTH_FAILED" })
          const targetAgain = yield* signInAgain(target)
          const denied = yield* targetAgain.call(MembersApi.listMembers).pipe(Effect.flip)
          expect(denied).toMatchObject({ _tag: "Banned", code: "BANNED" })
          expect((yield* targetAgain.me()).user_id).toBe(target.user_id)
          expect(yield* memberIds(boss.client)).not.toContain(target.user_id)

          const listed = yield* listBans(mod.client)
          expect(listed).toHaveLength(1)
          expect(listed[0]).toMatchObject({
            user_id: target.user_id,
            username: target.username,
            display_name: target.username,
            reason: "rule 3",
            banned_by: mod.user_id
          })
          expect(new Date(listed[0]!.banned_at).getTime()).toBeGreaterThan(0)
          const sql = yield* SqlClient.SqlClient
          const stored = yield* sql`SELECT delete_msg_days FROM bans WHERE user_id = ${target.user_id}`.pipe(
            Effect.flatMap(decodeRows(Schema.Struct({ delete_msg_days: IntColumn })))
          )
          expect(stored).toEqual([{ delete_msg_days: 7 }])
          expect(yield* eventsOf("MEMBER_BAN", target.user_id)).toHaveLength(1)
          expect(yield* eventsOf("MEMBER_LEAVE", target.user_id)).toHaveLength(1)

          // banning again restates the reason: still one ban, one MEMBER_BAN
          yield* ban(boss.client, target.user_id, { reason: "rule 4" })
          expect((yield* listBans(mod.client)).map((b) => [b.user_id, b.reason, b.banned_by])).toEqual([
            [target.user_id, "rule 4", boss.user_id]
          ])
          expect(yield* eventsOf("MEMBER_BAN", target.user_id)).toHaveLength(1)

          // an account that is not a member can be banned before it comes back
          yield* ban(mod.client, outsider.user_id)
          expect(yield* (yield* signInAgain(outsider)).call(MembersApi.listMembers).pipe(Effect.flip)).toMatchObject({ code: "BANNED" })
          const page1 = yield* mod.client.call(MembersApi.listBans, { query: { limit: 1 } })
          expect(page1.items.map((b) => b.user_id)).toEqual([target.user_id])
          expect(page1.cursor).not.toBeNull()
          expect((yield* listBans(mod.client, 1)).map((b) => b.user_id)).toEqual([target.user_id, outsider.user_id])
          expect((yield* listBans(mod.client)).find((b) => b.user_id === outsider.user_id)).toMatchObject({ reason: null })

          yield* unban(mod.client, target.user_id)
          const afterUnban = yield* (yield* signInAgain(target)).call(MembersApi.listMembers).pipe(Effect.flip)
          expect(afterUnban).toMatchObject({ code: "FORBIDDEN" }) // no longer banned, but not a member either
          expect(yield* eventsOf("MEMBER_UNBAN", target.user_id)).toHaveLength(1)
          expect(yield* unban(mod.client, target.user_id).pipe(Effect.flip)).toMatchObject({ code: "USER_NOT_FOUND" })
          yield* unban(boss.client, outsider.user_id)
          expect(yield* listBans(mod.client)).toEqual([])

          expect((yield* auditOf(target.user_id)).map((a) => [a.event_type, a.actor_id, a.metadata])).toEqual([
            ["member.ban", mod.user_id, { reason: "rule 3", delete_msg_days: 7 }],
            ["member.ban", boss.user_id, { reason: "rule 4", delete_msg_days: 0 }],
            ["member.unban", mod.user_id, {}]
          ])
          expect((yield* auditOf(outsider.user_id)).map((a) => a.event_type)).toEqual(["member.ban", "member.unban"])
        }))
    })

    layer(TestServerWithDatabaseLive(backend), { excludeTestServices: true })((it) => {
      it.effect("the last administrator cannot leave, be kicked or be banned", () =>
        Effect.gen(function* () {
          const sql = yield* SqlClient.SqlClient
          const boss = yield* owner
          const admin = yield* newUser("admin")
          // the Admin role moves from the owner to `admin`; the owner keeps only moderation rights
          const server = yield* sql`SELECT admin_role_id FROM server WHERE id = 1`.pipe(
            Effect.flatMap(decodeRows(Schema.Struct({ admin_role_id: IntColumn })))
          )
          const adminRole = server[0]!.admin_role_id
          yield* sql`DELETE FROM member_roles WHERE user_id = ${boss.user_id} AND role_id = ${adminRole}`
          yield* assign(admin.user_id, adminRole)
          yield* assign(boss.user_id, yield* makeRole("Moderator", Permission.KICK_MEMBERS | Permission.BAN_MEMBERS, 2))

          const before = yield* snapshot
          const leaves = yield* admin.client.call(MembersApi.leaveServer).pipe(Effect.flip)
          expect(leaves).toMatchObject({ code: "FORBIDDEN" })
          expect(leaves.message).toMatch(/last administrator/)
          expect(yield* kick(boss.client, admin.user_id).pipe(Effect.flip)).toMatchObject({ code: "FORBIDDEN" })
          expect(yield* ban(boss.client, admin.user_id, { reason: "coup" }).pipe(Effect.flip)).toMatchObject({ code: "FORBIDDEN" })
          expect(yield* snapshot).toEqual(before)
          expect(yield* memberIds(admin.client)).toContain(admin.user_id)

          const second = yield* newUser("admin")
          yield* assign(second.user_id, adminRole)
          yield* admin.client.call(MembersApi.leaveServer)
          expect(yield* memberIds(second.client)).not.toContain(admin.user_id)
        }))
    })
  })
}
