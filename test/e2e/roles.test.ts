// Roles end to end over HTTP, on SQLite and (when configured) PostgreSQL: listing with its cursor,
// create, edit, delete, assign and revoke with their events and audit entries, and issue 3's
// acceptance 3: the role hierarchy and the last-administrator rule hold for edit, assign, revoke and
// delete, a permission change is seen by the very next request, and bad input changes nothing.
import { SqlClient } from "@effect/sql"
import { describe, expect, layer } from "@effect/vitest"
import { Effect, Schema } from "effect"
import type { VoxClient } from "../../src/client/VoxClient.js"
import * as RolesApi from "../../src/protocol/api/roles.js"
import { RoleId, UserId } from "../../src/protocol/ids.js"
import { MAX_POSITION } from "../../src/protocol/api/fields.js"
import { Permission, type PermissionSet } from "../../src/protocol/permissions.js"
import { decodeRows, IntColumn } from "../../src/runtime/db/columns.js"
import { backends } from "../support/backends.js"
import { auditEntries, countRows, eventsOfType, TestServerWithDatabaseLive } from "../support/db.js"
import { rawRequest } from "../support/http.js"
import { newUser, owner, uniqueName } from "../support/server.js"

const asRole = (id: number) => Schema.decodeSync(RoleId)(id)
const asUser = (id: number) => Schema.decodeSync(UserId)(id)
const perms = (...bits: ReadonlyArray<bigint>) => bits.reduce((a, b) => a | b, 0n) as PermissionSet

// --- the endpoints ------------------------------------------------------------------------------

const create = (c: VoxClient, body: RolesApi.RoleCreate) => c.call(RolesApi.createRole, { body })
const update = (c: VoxClient, roleId: number, body: RolesApi.RolePatch) =>
  c.call(RolesApi.updateRole, { params: { role_id: asRole(roleId) }, body })
const remove = (c: VoxClient, roleId: number) => c.call(RolesApi.deleteRole, { params: { role_id: asRole(roleId) } })
const assign = (c: VoxClient, userId: number, roleId: number) =>
  c.call(RolesApi.assignRole, { params: { user_id: asUser(userId), role_id: asRole(roleId) } })
const revoke = (c: VoxClient, userId: number, roleId: number) =>
  c.call(RolesApi.revokeRole, { params: { user_id: asUser(userId), role_id: asRole(roleId) } })

/** Every role, page by page. */
const listAll = (c: VoxClient, limit = 250) =>
  Effect.gen(function* () {
    const items: Array<RolesApi.Role> = []
    let after: string | undefined
    for (let pages = 0; pages < 1000; pages++) {
      const page = yield* c.call(RolesApi.listRoles, { query: { limit, ...(after === undefined ? {} : { after }) } })
      expect(page.items.length).toBeLessThanOrEqual(limit)
      items.push(...page.items)
      if (page.cursor === null) return items
      after = page.cursor
    }
    return yield* Effect.dieMessage("the cursor never ended")
  })

const roleOf = (c: VoxClient, roleId: number) =>
  Effect.map(listAll(c), (roles) => roles.find((r) => r.role_id === roleId))

const rolesOfUser = (c: VoxClient, userId: number) => Effect.map(c.user(userId), (u) => u.roles)

const permissionsOf = (c: VoxClient) => Effect.map(c.me(), (me) => me.permissions)

const adminRole = (c: VoxClient) =>
  Effect.map(listAll(c), (roles) => roles.find((r) => r.name === "Admin" && (r.permissions & Permission.ADMINISTRATOR) !== 0n)!)

// --- the database, for what the API does not show ---------------------------------------------

/** Everything a refused request must leave untouched. */
const snapshot = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  const roles = yield* sql`SELECT id, name, permissions, position, color FROM roles ORDER BY id`
  return {
    roles: JSON.stringify(roles),
    member_roles: yield* countRows("member_roles"),
    overrides: yield* countRows("permission_overrides"),
    audit: yield* countRows("audit_log"),
    events: yield* countRows("event_log")
  }
})

/** The events of this type, oldest first: each its payload, with its audience beside. */
const eventsOf = (type: string) =>
  Effect.map(eventsOfType(type), (events) => events.map((e) => ({ ...e.payload, audience: e.audience })))

/** The audit entries of this type naming this target, oldest first. */
const auditOf = (eventType: string, targetId: number) =>
  auditEntries((sql) => sql`event_type = ${eventType} AND target_id = ${targetId}`)

const overridesOf = (roleId: number) =>
  countRows("permission_overrides", (sql) => sql`target_type = 'role' AND target_id = ${roleId}`)

/** Overrides are another group's endpoints: this suite writes one directly, as that group would store it. */
const insertOverride = (roleId: number) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    yield* sql`INSERT INTO permission_overrides (space_type, space_id, target_type, target_id, allow_bits, deny_bits)
      VALUES ('feed', 424242, 'role', ${roleId}, '1', '0')`
  })

const adminRoleIdInDb = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  const rows = yield* sql`SELECT admin_role_id FROM server WHERE id = 1`.pipe(
    Effect.flatMap(decodeRows(Schema.Struct({ admin_role_id: Schema.NullOr(IntColumn) })))
  )
  return rows[0]!.admin_role_id
})

const setLimit = (name: string, value: number) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    yield* sql`DELETE FROM server_limits WHERE name = ${name}`
    yield* sql`INSERT INTO server_limits (name, value) VALUES (${name}, ${value})`
  })

const UNKNOWN_ROLE = 4_000_000_000
const UNKNOWN_USER = 4_000_000_000

/** A member holding a fresh role with MANAGE_ROLES (and `extra`) at `position`, made by the owner. */
const moderatorAt = (boss: VoxClient, position: number, extra: bigint = 0n) =>
  Effect.gen(function* () {
    const user = yield* newUser("mod")
    const role = yield* create(boss, {
      name: uniqueName("Mod"),
      position,
      permissions: perms(Permission.MANAGE_ROLES, extra)
    })
    yield* assign(boss, user.user_id, role.role_id)
    return { ...user, role }
  })

for (const backend of backends) {
  describe(`roles on ${backend.name}`, () => {
    layer(TestServerWithDatabaseLive(backend), { excludeTestServices: true })((it) => {
      it.effect("GET /roles: every member sees @everyone and Admin; limit=2 walks every role once, in id order", () =>
        Effect.gen(function* () {
          const boss = yield* owner
          const member = yield* newUser("lister")
          for (let i = 0; i < 5; i++) yield* create(boss.client, { name: uniqueName("Listed") })

          const all = yield* listAll(member.client, 2)
          expect(all.map((r) => r.role_id)).toEqual(all.map((r) => r.role_id).sort((a, b) => a - b))
          expect(new Set(all.map((r) => r.role_id)).size).toBe(all.length)
          expect(all[0]).toMatchObject({ role_id: 1, name: "@everyone", position: 0, color: null })
          expect((yield* adminRole(member.client)).permissions).toBe(Permission.ADMINISTRATOR)
          expect(all.length).toBeGreaterThanOrEqual(7)
          expect(yield* listAll(boss.client)).toEqual(all)
          const first = yield* member.client.call(RolesApi.listRoles, { query: { limit: 2 } })
          expect(first.items).toEqual(all.slice(0, 2))
          expect(first.cursor).not.toBeNull()

          for (const bad of ["garbage", "eyJpZCI6InNpeCJ9", Buffer.from("{\"id\":-1}").toString("base64url")]) {
            const refused = yield* member.client.call(RolesApi.listRoles, { query: { after: bad } }).pipe(Effect.flip)
            expect(refused).toMatchObject({ code: "INVALID_BODY", message: "Invalid cursor" })
          }
          const tooMany = yield* rawRequest("GET", "/api/v1/roles?limit=251", { token: member.token })
          expect(tooMany.status).toBe(400)
        }))

      it.effect("create, edit, delete, assign, revoke: the answers, the events and the audit entries", () =>
        Effect.gen(function* () {
          const boss = yield* owner
          const member = yield* newUser("holder")

          const created = yield* create(boss.client, { name: "Helpers" })
          expect(created).toEqual({
            role_id: created.role_id,
            name: "Helpers",
            color: null,
            permissions: 0n,
            position: 1,
            mentionable: false,
            hoist: false
          })
          const full = yield* create(boss.client, {
            name: "Crew",
            color: 0x00ff00,
            permissions: perms(Permission.KICK_MEMBERS, Permission.MANAGE_NICKNAMES),
            position: 7,
            mentionable: true,
            hoist: true
          })
          expect(full).toMatchObject({ name: "Crew", color: 0x00ff00, position: 7, mentionable: true, hoist: true })
          expect(yield* roleOf(member.client, full.role_id)).toEqual(full)
          expect((yield* eventsOf("ROLE_CREATE")).find((e) => e.role_id === full.role_id)).toMatchObject({
            name: "Crew",
            audience: { _tag: "server" }
          })
          expect(yield* auditOf("role.create", full.role_id)).toEqual([
            expect.objectContaining({ actor_id: boss.user_id, metadata: expect.objectContaining({ role_id: full.role_id, name: "Crew" }) })
          ])

          const edited = yield* update(boss.client, full.role_id, { name: "Deck crew", color: null, hoist: false })
          expect(edited).toEqual({ ...full, name: "Deck crew", color: null, hoist: false })
          expect(yield* roleOf(member.client, full.role_id)).toEqual(edited)
          expect((yield* eventsOf("ROLE_UPDATE")).filter((e) => e.role_id === full.role_id)).toEqual([
            expect.objectContaining({ name: "Deck crew", color: null, hoist: false })
          ])
          expect((yield* auditOf("role.update", full.role_id))[0]!.metadata).toMatchObject({
            role_id: full.role_id,
            name: "Deck crew",
            changed: ["name", "color", "hoist"]
          })
          // an edit that changes nothing answers the role and announces nothing
          expect(yield* update(boss.client, full.role_id, { name: "Deck crew" })).toEqual(edited)
          expect((yield* eventsOf("ROLE_UPDATE")).filter((e) => e.role_id === full.role_id)).toHaveLength(1)

          yield* assign(boss.client, member.user_id, full.role_id)
          expect(yield* rolesOfUser(member.client, member.user_id)).toEqual([full.role_id])
          expect(yield* permissionsOf(member.client)).toSatisfy((p: bigint) => (p & Permission.KICK_MEMBERS) !== 0n)
          // assigning twice: 204 again, no second event or entry
          yield* assign(boss.client, member.user_id, full.role_id)
          yield* assign(boss.client, member.user_id, created.role_id)
          expect(yield* rolesOfUser(member.client, member.user_id)).toEqual([full.role_id, created.role_id])
          expect((yield* eventsOf("ROLE_ASSIGN")).filter((e) => e.user_id === member.user_id)).toEqual([
            expect.objectContaining({ user_id: member.user_id, role_id: full.role_id, audience: { _tag: "server" } }),
            expect.objectContaining({ user_id: member.user_id, role_id: created.role_id })
          ])
          const updates = (yield* eventsOf("MEMBER_UPDATE")).filter((e) => e.user_id === member.user_id)
          expect(updates.map((e) => e.role_ids)).toEqual([[full.role_id], [full.role_id, created.role_id]])
          expect(updates[0]).toMatchObject({ username: member.username, nickname: null })
          expect(yield* auditOf("role.assign", member.user_id)).toEqual([
            expect.objectContaining({ actor_id: boss.user_id, metadata: expect.objectContaining({ role_id: full.role_id }) }),
            expect.objectContaining({ actor_id: boss.user_id, metadata: expect.objectContaining({ role_id: created.role_id }) })
          ])

          yield* revoke(boss.client, member.user_id, created.role_id)
          yield* revoke(boss.client, member.user_id, created.role_id)
          expect(yield* rolesOfUser(member.client, member.user_id)).toEqual([full.role_id])
          expect((yield* eventsOf("ROLE_REVOKE")).filter((e) => e.user_id === member.user_id)).toEqual([
            expect.objectContaining({ role_id: created.role_id })
          ])
          expect((yield* eventsOf("MEMBER_UPDATE")).filter((e) => e.user_id === member.user_id).at(-1)?.role_ids).toEqual([
            full.role_id
          ])
          expect(yield* auditOf("role.revoke", member.user_id)).toEqual([
            expect.objectContaining({ actor_id: boss.user_id, metadata: expect.objectContaining({ role_id: created.role_id }) })
          ])

          // deleting takes the role's assignments and overrides with it
          yield* insertOverride(full.role_id)
          expect(yield* overridesOf(full.role_id)).toBe(1)
          yield* remove(boss.client, full.role_id)
          expect(yield* roleOf(member.client, full.role_id)).toBeUndefined()
          expect(yield* rolesOfUser(member.client, member.user_id)).toEqual([])
          expect(yield* permissionsOf(member.client)).toSatisfy((p: bigint) => (p & Permission.KICK_MEMBERS) === 0n)
          expect(yield* overridesOf(full.role_id)).toBe(0)
          expect((yield* eventsOf("ROLE_DELETE")).filter((e) => e.role_id === full.role_id)).toHaveLength(1)
          expect(yield* auditOf("role.delete", full.role_id)).toEqual([
            expect.objectContaining({ actor_id: boss.user_id, metadata: expect.objectContaining({ name: "Deck crew" }) })
          ])
          const gone = yield* remove(boss.client, full.role_id).pipe(Effect.flip)
          expect(gone).toMatchObject({ code: "ROLE_NOT_FOUND" })
        }))

      it.effect("a moderator acts only on roles strictly below their own, and creates roles only there", () =>
        Effect.gen(function* () {
          const boss = yield* owner
          const mod = yield* moderatorAt(boss.client, 10)
          const target = yield* newUser("target")
          const above = yield* create(boss.client, { name: uniqueName("Above"), position: 20 })
          const peer = yield* create(boss.client, { name: uniqueName("Peer"), position: 10 })
          const below = yield* create(boss.client, { name: uniqueName("Below"), position: 5 })
          yield* assign(boss.client, target.user_id, above.role_id)
          yield* assign(boss.client, target.user_id, peer.role_id)

          const before = yield* snapshot
          const refusals = [
            update(mod.client, above.role_id, { name: "Mine" }),
            update(mod.client, peer.role_id, { color: 1 }),
            update(mod.client, mod.role.role_id, { name: "Promoted" }),
            update(mod.client, below.role_id, { position: 10 }),
            update(mod.client, below.role_id, { position: 11 }),
            remove(mod.client, above.role_id),
            remove(mod.client, peer.role_id),
            remove(mod.client, mod.role.role_id),
            assign(mod.client, target.user_id, above.role_id),
            assign(mod.client, mod.user_id, above.role_id),
            revoke(mod.client, target.user_id, above.role_id),
            revoke(mod.client, target.user_id, peer.role_id),
            revoke(mod.client, mod.user_id, mod.role.role_id),
            create(mod.client, { name: uniqueName("Same"), position: 10 }),
            create(mod.client, { name: uniqueName("Higher"), position: 11 })
          ]
          for (const attempt of refusals) {
            const refused = yield* Effect.flip(attempt)
            expect(refused).toMatchObject({ _tag: "RoleHierarchy", code: "ROLE_HIERARCHY" })
          }
          expect(yield* snapshot).toEqual(before)
          expect(yield* rolesOfUser(boss.client, target.user_id)).toEqual([above.role_id, peer.role_id])

          // strictly below: every action works
          const moved = yield* update(mod.client, below.role_id, { name: "Below, renamed", position: 9 })
          expect(moved).toMatchObject({ name: "Below, renamed", position: 9 })
          yield* assign(mod.client, target.user_id, below.role_id)
          expect(yield* rolesOfUser(boss.client, target.user_id)).toEqual([above.role_id, peer.role_id, below.role_id])
          yield* revoke(mod.client, target.user_id, below.role_id)
          expect(yield* rolesOfUser(boss.client, target.user_id)).toEqual([above.role_id, peer.role_id])
          const made = yield* create(mod.client, { name: uniqueName("Made"), position: 9 })
          const lowest = yield* create(mod.client, { name: uniqueName("Lowest") })
          expect(lowest.position).toBe(1)
          yield* remove(mod.client, made.role_id)
          yield* remove(mod.client, below.role_id)
          expect(yield* roleOf(boss.client, below.role_id)).toBeUndefined()
          expect(yield* auditOf("role.delete", below.role_id)).toEqual([expect.objectContaining({ actor_id: mod.user_id })])

          // the owner outranks every role
          yield* update(boss.client, above.role_id, { position: 1_000_000 })
          yield* revoke(boss.client, target.user_id, above.role_id)
        }))

      it.effect("nobody grants a permission they do not hold: not by create, edit or assign (missing_permission)", () =>
        Effect.gen(function* () {
          const boss = yield* owner
          const mod = yield* moderatorAt(boss.client, 50, Permission.KICK_MEMBERS)
          const target = yield* newUser("grantee")
          const low = yield* create(mod.client, { name: uniqueName("Low"), position: 3, permissions: perms(Permission.KICK_MEMBERS) })
          const banners = yield* create(boss.client, { name: uniqueName("Banners"), position: 4, permissions: perms(Permission.BAN_MEMBERS) })
          const admin = yield* adminRole(boss.client)
          // the Admin role sits above every role anyone else can create
          expect(admin.position).toBe(MAX_POSITION)

          const before = yield* snapshot
          const cases: ReadonlyArray<readonly [Effect.Effect<unknown, unknown>, string]> = [
            [create(mod.client, { name: uniqueName("Root"), position: 2, permissions: Permission.ADMINISTRATOR }), "ADMINISTRATOR"],
            [create(mod.client, { name: uniqueName("Ban"), position: 2, permissions: Permission.BAN_MEMBERS }), "BAN_MEMBERS"],
            [create(mod.client, { name: uniqueName("Both"), permissions: perms(Permission.KICK_MEMBERS, Permission.BAN_MEMBERS) }), "BAN_MEMBERS"],
            [update(mod.client, low.role_id, { permissions: perms(Permission.KICK_MEMBERS, Permission.BAN_MEMBERS) }), "BAN_MEMBERS"],
            [update(mod.client, low.role_id, { permissions: perms(Permission.KICK_MEMBERS, Permission.ADMINISTRATOR) }), "ADMINISTRATOR"],
            [update(mod.client, 1, { permissions: perms(Permission.VIEW_SPACE, Permission.MANAGE_SERVER) }), "MANAGE_SERVER"],
            [assign(mod.client, target.user_id, banners.role_id), "BAN_MEMBERS"],
            [assign(mod.client, mod.user_id, banners.role_id), "BAN_MEMBERS"]
          ]
          for (const [attempt, missing] of cases) {
            const refused = yield* Effect.flip(attempt)
            expect(refused).toMatchObject({ _tag: "Forbidden", code: "FORBIDDEN", missing_permission: missing })
          }
          // the Admin role is out of the moderator's reach
          for (const attempt of [
            assign(mod.client, mod.user_id, admin.role_id),
            update(mod.client, admin.role_id, { name: "Not admin" }),
            remove(mod.client, admin.role_id),
            revoke(mod.client, boss.user_id, admin.role_id)
          ]) {
            expect(yield* Effect.flip(attempt)).toMatchObject({ code: "ROLE_HIERARCHY" })
          }
          expect(yield* snapshot).toEqual(before)
          expect(yield* permissionsOf(mod.client)).toSatisfy((p: bigint) => (p & Permission.BAN_MEMBERS) === 0n)

          // what the moderator holds they may hand out, and take away what they lack
          const kickers = yield* create(mod.client, { name: uniqueName("Kickers"), position: 2, permissions: Permission.KICK_MEMBERS })
          yield* assign(mod.client, target.user_id, kickers.role_id)
          expect(yield* permissionsOf(target.client)).toSatisfy((p: bigint) => (p & Permission.KICK_MEMBERS) !== 0n)
          yield* update(mod.client, banners.role_id, { permissions: perms() })
          yield* assign(mod.client, target.user_id, banners.role_id)
          // the owner grants anything
          yield* update(boss.client, banners.role_id, { permissions: perms(Permission.BAN_MEMBERS, Permission.MANAGE_SERVER) })
          yield* remove(boss.client, banners.role_id)
        }))

      it.effect("@everyone: only its permissions change; it is never deleted, assigned or revoked", () =>
        Effect.gen(function* () {
          const boss = yield* owner
          const mod = yield* moderatorAt(boss.client, 30)
          const member = yield* newUser("plain")
          const everyoneRole = (yield* listAll(boss.client))[0]!
          expect(everyoneRole.name).toBe("@everyone")

          const before = yield* snapshot
          const forbidden = [
            update(boss.client, 1, { name: "everybody" }),
            update(boss.client, 1, { position: 3 }),
            update(boss.client, 1, { color: 5, permissions: everyoneRole.permissions }),
            update(boss.client, 1, { hoist: true }),
            remove(boss.client, 1),
            remove(mod.client, 1),
            assign(boss.client, member.user_id, 1),
            revoke(boss.client, member.user_id, 1)
          ]
          for (const attempt of forbidden) {
            expect(yield* Effect.flip(attempt)).toMatchObject({ code: "FORBIDDEN" })
          }
          const named = yield* rawRequest("PATCH", "/api/v1/roles/1", { token: boss.token, body: JSON.stringify({ name: "@everyone" }) })
          expect(named.status).toBe(400)
          const reserved = yield* rawRequest("POST", "/api/v1/roles", { token: boss.token, body: JSON.stringify({ name: " @everyone " }) })
          expect(reserved.status).toBe(400)
          expect(yield* snapshot).toEqual(before)

          // a member with only @everyone is below it: no MANAGE_ROLES would help them
          const without = everyoneRole.permissions & ~Permission.CHANGE_NICKNAME
          const changed = yield* update(mod.client, 1, { permissions: without as PermissionSet })
          expect(changed).toEqual({ ...everyoneRole, permissions: without })
          expect(yield* permissionsOf(member.client)).toSatisfy((p: bigint) => (p & Permission.CHANGE_NICKNAME) === 0n)
          yield* update(boss.client, 1, { permissions: everyoneRole.permissions })
          expect(yield* permissionsOf(member.client)).toSatisfy((p: bigint) => (p & Permission.CHANGE_NICKNAME) !== 0n)
        }))

      it.effect("a permission change is seen by the very next request", () =>
        Effect.gen(function* () {
          const boss = yield* owner
          const user = yield* newUser("manager")
          const managers = yield* create(boss.client, { name: uniqueName("Managers"), permissions: Permission.MANAGE_SERVER })
          const name = (yield* boss.client.server()).name

          expect(yield* Effect.flip(user.client.updateServer({ name: "Nope" }))).toMatchObject({
            code: "FORBIDDEN",
            missing_permission: "MANAGE_SERVER"
          })
          yield* assign(boss.client, user.user_id, managers.role_id)
          expect((yield* user.client.updateServer({ name: "Managed" })).name).toBe("Managed")
          yield* revoke(boss.client, user.user_id, managers.role_id)
          expect(yield* Effect.flip(user.client.updateServer({ name: "Nope" }))).toMatchObject({ missing_permission: "MANAGE_SERVER" })

          yield* assign(boss.client, user.user_id, managers.role_id)
          yield* user.client.updateServer({ name: "Managed again" })
          yield* update(boss.client, managers.role_id, { permissions: perms() })
          expect(yield* Effect.flip(user.client.updateServer({ name: "Nope" }))).toMatchObject({ missing_permission: "MANAGE_SERVER" })
          yield* update(boss.client, managers.role_id, { permissions: Permission.MANAGE_SERVER })
          yield* user.client.updateServer({ name: "Managed a third time" })
          yield* remove(boss.client, managers.role_id)
          expect(yield* Effect.flip(user.client.updateServer({ name: "Nope" }))).toMatchObject({ missing_permission: "MANAGE_SERVER" })
          yield* boss.client.updateServer({ name: name ?? "Vox" })
        }))

      it.effect("bad input: unknown ids, names, reserved bits, positions; each changes nothing", () =>
        Effect.gen(function* () {
          const boss = yield* owner
          const member = yield* newUser("victim")
          const role = yield* create(boss.client, { name: uniqueName("Stable"), position: 2 })
          const before = yield* snapshot

          for (const attempt of [
            update(boss.client, UNKNOWN_ROLE, { name: "x" }),
            update(boss.client, 999, { name: "x" }),
            remove(boss.client, UNKNOWN_ROLE),
            assign(boss.client, member.user_id, UNKNOWN_ROLE),
            revoke(boss.client, member.user_id, 999)
          ]) {
            expect(yield* Effect.flip(attempt)).toMatchObject({ _tag: "RoleNotFound", code: "ROLE_NOT_FOUND" })
          }
          for (const attempt of [assign(boss.client, UNKNOWN_USER, role.role_id), revoke(boss.client, UNKNOWN_USER, role.role_id)]) {
            expect(yield* Effect.flip(attempt)).toMatchObject({ code: "USER_NOT_FOUND" })
          }

          const reservedBit = (1n << 20n).toString()
          const bodies = [
            { name: "" },
            { name: "   " },
            { name: "x".repeat(65) },
            { name: "ok", permissions: "RESERVED" },
            { name: "ok", permissions: -1 },
            { name: "ok", permissions: 1.5 },
            { name: "ok", position: -1 },
            { name: "ok", position: 0 },
            { name: "ok", position: 1.5 },
            { name: "ok", position: 1_000_001 },
            { name: "ok", color: 0x1000000 },
            { name: "ok", mentionable: "yes" },
            { name: 5 },
            {}
          ]
          const text = (body: object) => JSON.stringify(body).replace("\"RESERVED\"", reservedBit)
          for (const body of bodies) {
            const created = yield* rawRequest("POST", "/api/v1/roles", { token: boss.token, body: text(body) })
            expect({ body, status: created.status, code: created.body?.error?.code }).toEqual({ body, status: 400, code: "INVALID_BODY" })
          }
          for (const body of bodies.filter((b) => Object.keys(b).length > 0)) {
            const patch = Object.fromEntries(Object.entries(body).filter(([k, v]) => !(k === "name" && v === "ok")))
            if (Object.keys(patch).length === 0) continue
            const edited = yield* rawRequest("PATCH", `/api/v1/roles/${role.role_id}`, { token: boss.token, body: text(patch) })
            expect({ patch, status: edited.status, code: edited.body?.error?.code }).toEqual({ patch, status: 400, code: "INVALID_BODY" })
          }
          for (const path of ["/api/v1/roles/abc", "/api/v1/roles/0", "/api/v1/roles/-1", "/api/v1/roles/1e3"]) {
            const response = yield* rawRequest("PATCH", path, { token: boss.token, body: JSON.stringify({ name: "x" }) })
            expect({ path, status: response.status }).toEqual({ path, status: 400 })
          }
          expect(yield* snapshot).toEqual(before)

          const longest = yield* create(boss.client, { name: "y".repeat(64), position: 2 })
          expect(longest.name).toHaveLength(64)
          yield* remove(boss.client, longest.role_id)
        }))

      it.effect("max_roles counts every role, @everyone included: LIMIT_REACHED, nothing created", () =>
        Effect.gen(function* () {
          const boss = yield* owner
          const count = (yield* listAll(boss.client)).length
          yield* setLimit("max_roles", count + 1)
          const last = yield* create(boss.client, { name: uniqueName("Last") })
          const before = yield* snapshot
          const refused = yield* Effect.flip(create(boss.client, { name: uniqueName("One too many") }))
          expect(refused).toMatchObject({ _tag: "LimitReached", code: "LIMIT_REACHED", limit: "max_roles", max: count + 1 })
          expect(yield* snapshot).toEqual(before)
          yield* remove(boss.client, last.role_id)
          yield* create(boss.client, { name: uniqueName("Fits again") })
          yield* setLimit("max_roles", 250)
        }))

      it.effect("the Admin role can go while another role holds ADMINISTRATOR; the last such role cannot lose it", () =>
        Effect.gen(function* () {
          const boss = yield* owner
          const admin = yield* adminRole(boss.client)
          const isAdmin = Effect.map(permissionsOf(boss.client), (p) => (p & Permission.ADMINISTRATOR) !== 0n)
          const root = yield* create(boss.client, { name: "Root", position: 5, permissions: Permission.ADMINISTRATOR })
          yield* assign(boss.client, boss.user_id, root.role_id)
          expect(yield* adminRoleIdInDb).toBe(admin.role_id)
          yield* remove(boss.client, admin.role_id)
          expect(yield* adminRoleIdInDb).toBeNull()
          expect(yield* isAdmin).toBe(true)
          expect(yield* rolesOfUser(boss.client, boss.user_id)).toEqual([root.role_id])

          const before = yield* snapshot
          for (const attempt of [
            update(boss.client, root.role_id, { permissions: Permission.MANAGE_ROLES }),
            revoke(boss.client, boss.user_id, root.role_id),
            remove(boss.client, root.role_id)
          ]) {
            expect(yield* Effect.flip(attempt)).toMatchObject({ _tag: "Forbidden", code: "FORBIDDEN" })
            expect(yield* isAdmin).toBe(true)
          }
          expect(yield* snapshot).toEqual(before)
        }))
    })
  })

  describe(`the last administrator on ${backend.name}`, () => {
    layer(TestServerWithDatabaseLive(backend), { excludeTestServices: true })((it) => {
      it.effect("the only administrator keeps the Admin role and its ADMINISTRATOR; with a second one, revoking works", () =>
        Effect.gen(function* () {
          const boss = yield* owner
          const admin = yield* adminRole(boss.client)
          expect(yield* rolesOfUser(boss.client, boss.user_id)).toEqual([admin.role_id])
          const isAdmin = (c: VoxClient) => Effect.map(permissionsOf(c), (p) => (p & Permission.ADMINISTRATOR) !== 0n)

          const before = yield* snapshot
          const refusals = [
            revoke(boss.client, boss.user_id, admin.role_id),
            remove(boss.client, admin.role_id),
            update(boss.client, admin.role_id, { permissions: Permission.MANAGE_ROLES }),
            update(boss.client, admin.role_id, { permissions: perms() })
          ]
          for (const attempt of refusals) {
            expect(yield* Effect.flip(attempt)).toMatchObject({ _tag: "Forbidden", code: "FORBIDDEN" })
            expect(yield* isAdmin(boss.client)).toBe(true)
          }
          expect(yield* snapshot).toEqual(before)
          expect(yield* roleOf(boss.client, admin.role_id)).toEqual(admin)

          // edits that keep ADMINISTRATOR are fine
          const renamed = yield* update(boss.client, admin.role_id, {
            name: "Admins",
            position: 100,
            permissions: perms(Permission.ADMINISTRATOR, Permission.MANAGE_ROLES)
          })
          expect(renamed).toMatchObject({ name: "Admins", permissions: perms(Permission.ADMINISTRATOR, Permission.MANAGE_ROLES) })

          // a second administrator: now the owner can step down
          const second = yield* newUser("second")
          yield* assign(boss.client, second.user_id, admin.role_id)
          expect(yield* isAdmin(second.client)).toBe(true)
          yield* revoke(boss.client, boss.user_id, admin.role_id)
          expect(yield* isAdmin(boss.client)).toBe(false)
          expect(yield* isAdmin(second.client)).toBe(true)
          expect(yield* rolesOfUser(boss.client, boss.user_id)).toEqual([])
          expect(yield* auditOf("role.revoke", boss.user_id)).toEqual([
            expect.objectContaining({ actor_id: boss.user_id, metadata: expect.objectContaining({ role_id: admin.role_id }) })
          ])

          // the second, now alone, cannot step down either (their own highest role is out of reach anyway)
          const alone = yield* snapshot
          for (const attempt of [
            revoke(second.client, second.user_id, admin.role_id),
            remove(second.client, admin.role_id),
            update(second.client, admin.role_id, { permissions: Permission.MANAGE_ROLES })
          ]) {
            expect(yield* Effect.flip(attempt)).toMatchObject({ _tag: expect.stringMatching(/^(Forbidden|RoleHierarchy)$/) })
          }
          expect(yield* snapshot).toEqual(alone)
          expect(yield* isAdmin(second.client)).toBe(true)
        }))
    })
  })
}
