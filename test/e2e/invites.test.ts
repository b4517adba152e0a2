// Invites, joining and registration modes end to end (issue 3, acceptance 4): expiry (410), max uses
// (422 once spent), a banned account never gets back in, `max_members` (503 SERVER_FULL) with nothing
// created, and the open / invite-only / closed registration modes, on SQLite and PostgreSQL.
import { SqlClient } from "@effect/sql"
import { describe, expect, it, layer } from "@effect/vitest"
import { Effect } from "effect"
import type { VoxClient } from "../../src/client/VoxClient.js"
import * as AuditApi from "../../src/protocol/api/audit.js"
import * as InvitesApi from "../../src/protocol/api/invites.js"
import * as MembersApi from "../../src/protocol/api/members.js"
import * as ServerApi from "../../src/protocol/api/server.js"
import * as SpacesApi from "../../src/protocol/api/spaces.js"
import { Permission, type PermissionSet } from "../../src/protocol/permissions.js"
import { loadVoxConfig, VoxConfig } from "../../src/runtime/config/VoxConfig.js"
import { VoxCoreLive } from "../../src/runtime/VoxRuntime.js"
import { Accounts } from "../../src/runtime/auth/Accounts.js"
import { backends } from "../support/backends.js"
import { countRows, eventsOfType, withSuiteDatabase } from "../support/db.js"
import { rawRequest } from "../support/http.js"
import { owner, PASSWORD, registered, TestServer, TestServerLive, uniqueName } from "../support/server.js"

/** The rows of a table, counted straight from the suite's database. */
const count = (table: "users" | "members" | "invites") => withSuiteDatabase(countRows(table))

const createInvite = (client: VoxClient, body: InvitesApi.InviteCreate = {}) => client.call(InvitesApi.createInvite, { body })
const resolve = (client: VoxClient, code: string) => client.call(InvitesApi.resolveInvite, { params: { code } })
const join = (client: VoxClient, invite_code?: string) =>
  client.call(MembersApi.joinServer, { body: invite_code === undefined ? {} : { invite_code } })
const leave = (client: VoxClient) => client.call(MembersApi.leaveServer)
const usesOf = (client: VoxClient, code: string) =>
  Effect.map(client.call(InvitesApi.listInvites, { query: { limit: 1000 } }), (page) =>
    page.items.find((i) => i.code === code)?.uses)
const auditOf = (client: VoxClient, event_type: string) =>
  Effect.map(client.call(AuditApi.queryAuditLog, { query: { event_type, limit: 100 } }), (page) => page.entries)
const memberCount = (client: VoxClient) => Effect.map(client.call(ServerApi.getServer), (s) => s.member_count)

/** Someone with an account who is not a member (they left). */
const outsider = (client: VoxClient) =>
  Effect.gen(function* () {
    const user = yield* registered(client, uniqueName("outsider"))
    yield* leave(user.client)
    return user
  })

/** The payload of the last event of a type in the event log. */
const lastEvent = (type: string) =>
  Effect.map(withSuiteDatabase(eventsOfType(type)), (events) => events.at(-1)?.payload ?? null)

for (const backend of backends) {
  describe(`invites on ${backend.name}`, () => {
    layer(TestServerLive(backend), { excludeTestServices: true })((it) => {
      it.effect("create, resolve without an account, list page by page, delete", () =>
        Effect.gen(function* () {
          const { client } = yield* TestServer
          const admin = yield* owner
          const before = Math.floor(Date.now() / 1000)

          const created = yield* rawRequest("POST", "/api/v1/invites", { token: admin.token, body: { max_uses: 5, max_age: 3600 } })
          expect(created.status).toBe(201)
          const invite = created.body
          expect(invite.code).toMatch(/^[0-9A-Za-z]{10}$/)
          expect(invite).toMatchObject({ creator_id: admin.user_id, feed_id: null, max_uses: 5, uses: 0 })
          expect(invite.expires_at).toBeGreaterThanOrEqual(before + 3600)
          expect(invite.expires_at).toBeLessThanOrEqual(before + 3602)
          expect(invite.created_at).toBeGreaterThanOrEqual(before)

          // 0 and absent both mean unlimited / never
          const forever = yield* createInvite(admin.client, { max_uses: 0, max_age: 0 })
          expect(forever).toMatchObject({ max_uses: null, expires_at: null, uses: 0 })
          expect((yield* createInvite(admin.client)).max_uses).toBeNull()

          const preview = yield* resolve(client, invite.code)
          const server = yield* admin.client.call(ServerApi.getServer)
          expect(preview).toEqual({
            code: invite.code,
            server_name: server.name,
            server_icon: server.icon,
            member_count: server.member_count,
            feed_id: null,
            expires_at: invite.expires_at
          })

          // INVITE_CREATE reaches those who can invite; the audit log has the parameters
          expect(yield* lastEvent("INVITE_CREATE")).toBeTruthy()
          const entries = yield* auditOf(admin.client, "invite.create")
          expect(entries.find((e) => e.metadata.code === invite.code)).toMatchObject({
            actor_id: admin.user_id,
            metadata: { code: invite.code, max_uses: 5, max_age: 3600, feed_id: null }
          })

          // creation order, two at a time, to the end
          const all = (yield* admin.client.call(InvitesApi.listInvites, { query: { limit: 1000 } })).items
          expect(all.length).toBeGreaterThanOrEqual(3)
          const seen: Array<string> = []
          let after: string | undefined
          for (;;) {
            const page = yield* admin.client.call(InvitesApi.listInvites, { query: after === undefined ? { limit: 2 } : { limit: 2, after } })
            expect(page.items.length).toBeLessThanOrEqual(2)
            seen.push(...page.items.map((i) => i.code))
            if (page.cursor === null) break
            after = page.cursor
          }
          expect(seen).toEqual(all.map((i) => i.code))
          const badCursor = yield* rawRequest("GET", "/api/v1/invites?after=nonsense", { token: admin.token })
          expect(badCursor).toMatchObject({ status: 400, body: { error: { code: "INVALID_BODY", location: "query" } } })

          // delete: someone else's needs MANAGE_SERVER; the creator may; unknown is 422
          const member = yield* registered(client, uniqueName("plain"))
          const refused = yield* member.client.call(InvitesApi.deleteInvite, { params: { code: invite.code } }).pipe(Effect.flip)
          expect(refused).toMatchObject({ _tag: "Forbidden", missing_permission: "MANAGE_SERVER" })
          const own = yield* createInvite(member.client) // @everyone may create invites
          yield* member.client.call(InvitesApi.deleteInvite, { params: { code: own.code } })
          yield* admin.client.call(InvitesApi.deleteInvite, { params: { code: invite.code } })
          expect(yield* lastEvent("INVITE_DELETE")).toEqual({ code: invite.code })
          const gone = yield* rawRequest("DELETE", `/api/v1/invites/${invite.code}`, { token: admin.token })
          expect(gone).toMatchObject({ status: 422, body: { error: { code: "INVITE_INVALID" } } })
          const unknown = yield* rawRequest("GET", `/api/v1/invites/${invite.code}`)
          expect(unknown).toMatchObject({ status: 422, body: { error: { code: "INVITE_INVALID" } } })
          const deletions = yield* auditOf(admin.client, "invite.delete")
          expect(deletions.map((e) => e.metadata.code)).toEqual(expect.arrayContaining([invite.code, own.code]))
          expect(deletions.find((e) => e.metadata.code === own.code)?.actor_id).toBe(member.user_id)
        }))

      it.effect("an invite to a feed: the feed must exist and its creator must see it", () =>
        Effect.gen(function* () {
          const { client } = yield* TestServer
          const admin = yield* owner
          const member = yield* registered(client, uniqueName("nosee"))
          const feed = yield* admin.client.call(SpacesApi.createFeed, {
            body: {
              name: "hidden",
              type: "text",
              permission_overrides: [{
                target_type: "user",
                target_id: member.user_id,
                allow: 0n as PermissionSet,
                deny: Permission.VIEW_SPACE
              }]
            }
          })
          const invite = yield* createInvite(admin.client, { feed_id: feed.feed_id })
          expect(invite.feed_id).toBe(feed.feed_id)
          expect((yield* resolve(client, invite.code)).feed_id).toBe(feed.feed_id)

          const blind = yield* createInvite(member.client, { feed_id: feed.feed_id }).pipe(Effect.flip)
          expect(blind).toMatchObject({ _tag: "Forbidden", missing_permission: "VIEW_SPACE" })
          const missing = yield* rawRequest("POST", "/api/v1/invites", { token: admin.token, body: { feed_id: 999999 } })
          expect(missing).toMatchObject({ status: 404, body: { error: { code: "SPACE_NOT_FOUND" } } })
        }))

      it.effect("join: an open server lets an account back in with or without an invite; a member is answered as is", () =>
        Effect.gen(function* () {
          const { client } = yield* TestServer
          const admin = yield* owner
          const invite = yield* createInvite(admin.client, { max_uses: 10 })

          const user = yield* outsider(client)
          const forbidden = yield* user.client.call(ServerApi.getServer).pipe(Effect.flip)
          expect(forbidden._tag).toBe("Forbidden")
          const members = yield* memberCount(admin.client)

          const joined = yield* rawRequest("POST", "/api/v1/members/@me/join", { token: user.token, body: { invite_code: invite.code } })
          expect(joined.status).toBe(200)
          expect(joined.body).toMatchObject({ user_id: user.user_id, nickname: null, role_ids: [] })
          expect(yield* memberCount(admin.client)).toBe(members + 1)
          expect(yield* usesOf(admin.client, invite.code)).toBe(1)
          expect(yield* lastEvent("MEMBER_JOIN")).toMatchObject({ user_id: user.user_id, role_ids: [] })
          const uses = yield* auditOf(admin.client, "invite.use")
          expect(uses.find((e) => e.target_id === user.user_id)).toMatchObject({
            actor_id: user.user_id,
            metadata: { code: invite.code }
          })
          // the member reaches the community at once
          expect((yield* user.client.call(ServerApi.getServer)).member_count).toBe(members + 1)

          // already a member: 200 with the member, no use spent
          const again = yield* join(user.client, invite.code)
          expect(again.user_id).toBe(user.user_id)
          expect(yield* usesOf(admin.client, invite.code)).toBe(1)

          // open registration: no code needed to come back
          const other = yield* outsider(client)
          expect((yield* join(other.client)).user_id).toBe(other.user_id)
          // but a code given must be good
          const third = yield* outsider(client)
          const bad = yield* join(third.client, "NoSuchCode").pipe(Effect.flip)
          expect(bad).toMatchObject({ _tag: "InviteInvalid", code: "INVITE_INVALID" })
          const noAccount = yield* rawRequest("POST", "/api/v1/members/@me/join", { body: {} })
          expect(noAccount.status).toBe(401)
        }))

      it.effect("acceptance 4: an expired invite is 410 INVITE_EXPIRED and lets nobody in", () =>
        Effect.gen(function* () {
          const { client } = yield* TestServer
          const admin = yield* owner
          const short = yield* createInvite(admin.client, { max_age: 1 })
          const past = yield* createInvite(admin.client)
          yield* withSuiteDatabase((sql) => sql`UPDATE invites SET expires_at = ${Date.now() - 1000} WHERE code = ${past.code}`)
          const user = yield* outsider(client)
          const members = yield* memberCount(admin.client)
          yield* Effect.sleep("1100 millis")

          for (const invite of [short, past]) {
            const preview = yield* rawRequest("GET", `/api/v1/invites/${invite.code}`)
            expect(preview).toMatchObject({ status: 410, body: { error: { code: "INVITE_EXPIRED" } } })
            const refused = yield* rawRequest("POST", "/api/v1/members/@me/join", { token: user.token, body: { invite_code: invite.code } })
            expect(refused).toMatchObject({ status: 410, body: { error: { code: "INVITE_EXPIRED" } } })
            expect(yield* usesOf(admin.client, invite.code)).toBe(0)
          }
          expect(yield* memberCount(admin.client)).toBe(members)
        }))

      it.effect("acceptance 4: max_uses n lets exactly n in, the (n+1)th gets 422, even all at once", () =>
        Effect.gen(function* () {
          const { client } = yield* TestServer
          const admin = yield* owner
          const invite = yield* createInvite(admin.client, { max_uses: 2 })
          const [a, b, c] = yield* Effect.all([outsider(client), outsider(client), outsider(client)])
          yield* join(a!.client, invite.code)
          yield* join(b!.client, invite.code)
          const spent = yield* rawRequest("POST", "/api/v1/members/@me/join", { token: c!.token, body: { invite_code: invite.code } })
          expect(spent).toMatchObject({ status: 422, body: { error: { code: "INVITE_INVALID" } } })
          expect((yield* rawRequest("GET", `/api/v1/invites/${invite.code}`)).status).toBe(422)
          expect(yield* usesOf(admin.client, invite.code)).toBe(2)

          // five joins racing for two uses: two get in, three get 422
          const race = yield* createInvite(admin.client, { max_uses: 2 })
          const racers = yield* Effect.all(Array.from({ length: 5 }, () => outsider(client)), { concurrency: 2 })
          const members = yield* memberCount(admin.client)
          const results = yield* Effect.all(
            racers.map((r) => Effect.either(join(r.client, race.code))),
            { concurrency: "unbounded" }
          )
          expect(results.filter((r) => r._tag === "Right")).toHaveLength(2)
          for (const r of results) if (r._tag === "Left") expect(r.left).toMatchObject({ code: "INVITE_INVALID" })
          expect(yield* usesOf(admin.client, race.code)).toBe(2)
          expect(yield* memberCount(admin.client)).toBe(members + 2)
        }))

      it.effect("acceptance 4: a banned account cannot rejoin, by invite or otherwise", () =>
        Effect.gen(function* () {
          const { client } = yield* TestServer
          const admin = yield* owner
          const name = uniqueName("banned")
          const banned = yield* registered(client, name)
          yield* admin.client.call(MembersApi.banMember, { params: { user_id: banned.user_id }, body: { reason: "spam" } })
          // the ban signed them out; they sign in again
          const login = yield* client.login({ username: name, password: PASSWORD })
          const user = { user_id: banned.user_id, token: login.token, client: client.withToken(login.token) }
          const invite = yield* createInvite(admin.client)
          const members = yield* memberCount(admin.client)

          const byInvite = yield* rawRequest("POST", "/api/v1/members/@me/join", { token: user.token, body: { invite_code: invite.code } })
          expect(byInvite).toMatchObject({ status: 403, body: { error: { code: "BANNED" } } })
          const openDoor = yield* join(user.client).pipe(Effect.flip)
          expect(openDoor).toMatchObject({ _tag: "Banned", code: "BANNED" })
          const badCode = yield* join(user.client, "whatever").pipe(Effect.flip)
          expect(badCode._tag).toBe("Banned")
          expect(yield* usesOf(admin.client, invite.code)).toBe(0)
          expect(yield* memberCount(admin.client)).toBe(members)
          expect((yield* user.client.call(ServerApi.getServer).pipe(Effect.flip))._tag).toBe("Banned")

          // unbanned, the same invite works
          yield* admin.client.call(MembersApi.unbanMember, { params: { user_id: user.user_id } })
          expect((yield* join(user.client, invite.code)).user_id).toBe(user.user_id)
          expect(yield* usesOf(admin.client, invite.code)).toBe(1)
        }))

      it.effect("acceptance 4: max_members is enforced on registration and join, with nothing created", () =>
        Effect.gen(function* () {
          const { client } = yield* TestServer
          const admin = yield* owner
          const invite = yield* createInvite(admin.client)
          const comeback = yield* outsider(client)
          const members = yield* memberCount(admin.client)
          const [users, invites] = [yield* count("users"), yield* count("invites")]
          yield* admin.client.call(ServerApi.updateLimits, { body: { max_members: members } })

          const name = uniqueName("toomany")
          const full = yield* rawRequest("POST", "/api/v1/auth/register", {
            body: { username: name, password: PASSWORD, invite_code: invite.code }
          })
          expect(full).toMatchObject({ status: 503, body: { error: { code: "SERVER_FULL" } } })
          const noCode = yield* client.register({ username: name, password: PASSWORD }).pipe(Effect.flip)
          expect(noCode).toMatchObject({ _tag: "ServerFull", code: "SERVER_FULL" })
          const rejoin = yield* rawRequest("POST", "/api/v1/members/@me/join", { token: comeback.token, body: { invite_code: invite.code } })
          expect(rejoin).toMatchObject({ status: 503, body: { error: { code: "SERVER_FULL" } } })
          // a member asking to join is still just answered
          expect((yield* join(admin.client)).user_id).toBe(admin.user_id)

          expect(yield* memberCount(admin.client)).toBe(members)
          expect(yield* count("users")).toBe(users)
          expect(yield* count("invites")).toBe(invites)
          expect(yield* usesOf(admin.client, invite.code)).toBe(0)
          expect((yield* client.login({ username: name, password: PASSWORD }).pipe(Effect.flip))._tag).toBe("AuthFailed")

          // one more seat: exactly one more person
          yield* admin.client.call(ServerApi.updateLimits, { body: { max_members: members + 1 } })
          yield* join(comeback.client, invite.code)
          expect((yield* client.register({ username: name, password: PASSWORD }).pipe(Effect.flip))._tag).toBe("ServerFull")
          yield* admin.client.call(ServerApi.updateLimits, { body: { max_members: ServerApi.DEFAULT_LIMITS.max_members } })
          expect((yield* client.register({ username: name, password: PASSWORD })).user_id).toBeGreaterThan(0)
        }))

      it.effect("max_invites counts the invites still usable", () =>
        Effect.gen(function* () {
          const admin = yield* owner
          const usable = (yield* admin.client.call(InvitesApi.listInvites, { query: { limit: 1000 } })).items.filter((i) =>
            (i.expires_at === null || i.expires_at * 1000 > Date.now()) && (i.max_uses === null || i.uses < i.max_uses)
          ).length
          yield* admin.client.call(ServerApi.updateLimits, { body: { max_invites: usable + 1 } })
          const last = yield* createInvite(admin.client)
          const invites = yield* count("invites")
          const refused = yield* rawRequest("POST", "/api/v1/invites", { token: admin.token, body: {} })
          expect(refused).toMatchObject({
            status: 400,
            body: { error: { code: "LIMIT_REACHED", limit: "max_invites", max: usable + 1 } }
          })
          expect(yield* count("invites")).toBe(invites)
          // deleting one frees its place
          yield* admin.client.call(InvitesApi.deleteInvite, { params: { code: last.code } })
          yield* createInvite(admin.client)
          yield* admin.client.call(ServerApi.updateLimits, { body: { max_invites: ServerApi.DEFAULT_LIMITS.max_invites } })
        }))

      it.effect("bad input gets its code and changes nothing", () =>
        Effect.gen(function* () {
          const { client } = yield* TestServer
          const admin = yield* owner
          const invites = yield* count("invites")
          const bodies = [
            { max_uses: -1 },
            { max_uses: 1.5 },
            { max_uses: 1_000_001 },
            { max_age: -5 },
            { max_age: 365 * 86_400 + 1 },
            { max_age: "3600" },
            { feed_id: "5" },
            { feed_id: 0 },
            { unknown: true }
          ]
          for (const body of bodies) {
            const response = yield* rawRequest("POST", "/api/v1/invites", { token: admin.token, body })
            expect(response.status, JSON.stringify(body)).toBe(400)
            expect(response.body.error.code).toBe("INVALID_BODY")
          }
          const longCode = yield* rawRequest("GET", `/api/v1/invites/${"x".repeat(65)}`)
          expect(longCode).toMatchObject({ status: 400, body: { error: { code: "INVALID_BODY", location: "path" } } })
          const joinBad = yield* rawRequest("POST", "/api/v1/members/@me/join", { token: admin.token, body: { invite_code: 5 } })
          expect(joinBad.status).toBe(400)
          const noToken = yield* rawRequest("POST", "/api/v1/invites", { body: {} })
          expect(noToken.status).toBe(401)
          const outsiderUser = yield* outsider(client)
          const notMember = yield* rawRequest("POST", "/api/v1/invites", { token: outsiderUser.token, body: {} })
          expect(notMember).toMatchObject({ status: 403, body: { error: { code: "FORBIDDEN" } } })
          const listNotMember = yield* rawRequest("GET", "/api/v1/invites", { token: outsiderUser.token })
          expect(listNotMember.status).toBe(403)
          expect(yield* count("invites")).toBe(invites)
        }))
    })
  })

  describe(`invite-only registration on ${backend.name}`, () => {
    layer(TestServerLive(backend, { auth: { registration: "invite" } }), { excludeTestServices: true })((it) => {
      it.effect("the owner needs no invite; everyone after does, and each registration spends one use", () =>
        Effect.gen(function* () {
          const { client } = yield* TestServer
          const admin = yield* owner // the first account: no invite needed
          expect((yield* admin.client.call(ServerApi.getServer)).member_count).toBe(1)
          const invite = yield* createInvite(admin.client, { max_uses: 2 })
          const users = yield* count("users")

          const without = yield* rawRequest("POST", "/api/v1/auth/register", { body: { username: uniqueName("nocode"), password: PASSWORD } })
          expect(without).toMatchObject({ status: 422, body: { error: { code: "INVITE_INVALID" } } })
          const wrong = yield* client.register({ username: uniqueName("wrong"), password: PASSWORD, invite_code: "NoSuchCode" })
            .pipe(Effect.flip)
          expect(wrong).toMatchObject({ _tag: "InviteInvalid" })
          const expired = yield* createInvite(admin.client)
          yield* withSuiteDatabase((sql) => sql`UPDATE invites SET expires_at = ${Date.now() - 1} WHERE code = ${expired.code}`)
          const late = yield* rawRequest("POST", "/api/v1/auth/register", {
            body: { username: uniqueName("late"), password: PASSWORD, invite_code: expired.code }
          })
          expect(late).toMatchObject({ status: 410, body: { error: { code: "INVITE_EXPIRED" } } })
          expect(yield* count("users")).toBe(users)

          const first = yield* client.register({ username: uniqueName("invited"), password: PASSWORD, invite_code: invite.code })
          const second = yield* client.register({ username: uniqueName("invited"), password: PASSWORD, invite_code: invite.code })
          expect(yield* usesOf(admin.client, invite.code)).toBe(2)
          const uses = yield* auditOf(admin.client, "invite.use")
          expect(uses.map((e) => e.target_id).sort()).toEqual([first.user_id, second.user_id].sort())
          expect(uses[0]?.metadata).toEqual({ code: invite.code })
          const third = yield* client.register({ username: uniqueName("invited"), password: PASSWORD, invite_code: invite.code })
            .pipe(Effect.flip)
          expect(third).toMatchObject({ _tag: "InviteInvalid", code: "INVITE_INVALID" })
          expect(yield* count("users")).toBe(users + 2)
          expect((yield* client.withToken(first.token).call(ServerApi.getServer)).member_count).toBe(3)
        }))

      it.effect("joining needs an invite too", () =>
        Effect.gen(function* () {
          const { client } = yield* TestServer
          const admin = yield* owner
          const invite = yield* createInvite(admin.client)
          const user = yield* client.register({ username: uniqueName("joiner"), password: PASSWORD, invite_code: invite.code })
          const joiner = client.withToken(user.token)
          yield* leave(joiner)
          const without = yield* join(joiner).pipe(Effect.flip)
          expect(without).toMatchObject({ _tag: "InviteInvalid", code: "INVITE_INVALID" })
          expect((yield* join(joiner, invite.code)).user_id).toBe(user.user_id)
          expect(yield* usesOf(admin.client, invite.code)).toBe(2)
        }))

    })
  })

  describe(`closed registration on ${backend.name}`, () => {
    layer(TestServerLive(backend, { auth: { registration: "closed" } }), { excludeTestServices: true })((it) => {
      it.effect("only the owner registers; an invite does not open registration", () =>
        Effect.gen(function* () {
          const { client } = yield* TestServer
          const admin = yield* owner
          const invite = yield* createInvite(admin.client)
          const users = yield* count("users")
          const closed = yield* rawRequest("POST", "/api/v1/auth/register", { body: { username: uniqueName("nope"), password: PASSWORD } })
          expect(closed).toMatchObject({ status: 403, body: { error: { code: "REGISTRATION_CLOSED" } } })
          const withInvite = yield* client.register({ username: uniqueName("nope"), password: PASSWORD, invite_code: invite.code })
            .pipe(Effect.flip)
          expect(withInvite).toMatchObject({ _tag: "RegistrationClosed", code: "REGISTRATION_CLOSED" })
          expect(yield* count("users")).toBe(users)
          expect(yield* usesOf(admin.client, invite.code)).toBe(0)
        }))
    })
  })

  describe(`vox admin create-user on ${backend.name}`, () => {
    it.scoped("creates accounts whatever the registration mode and member limit", () =>
      Effect.gen(function* () {
        const settings = yield* backend.settings
        const core = VoxCoreLive(VoxConfig.layerTest({ ...settings, auth: { registration: "closed" }, log: { level: "warning" } }))
        yield* Effect.gen(function* () {
          const accounts = yield* Accounts
          const sql = yield* SqlClient.SqlClient
          const root = yield* accounts.create({ username: "root", password: PASSWORD, admin: false, via: "admin" })
          expect(root.owner).toBe(true)
          const meta = { ip: null, userAgent: null }
          const refused = yield* accounts.register({ username: "visitor", password: PASSWORD }, meta).pipe(Effect.flip)
          expect(refused._tag).toBe("RegistrationClosed")
          yield* sql`INSERT INTO server_limits (name, value) VALUES ('max_members', 1)`
          const helper = yield* accounts.create({ username: "helper", password: PASSWORD, admin: true, via: "admin" })
          expect(helper).toMatchObject({ member: true, owner: false })
          expect(yield* countRows("members")).toBe(2)
        }).pipe(Effect.provide(core))
      }))
  })
}

describe("auth.registration", () => {
  it.effect("is open by default; anything but open, invite or closed is a startup error naming it", () =>
    Effect.gen(function* () {
      const defaults = yield* loadVoxConfig({ env: {} })
      expect(defaults.auth.registration).toBe("open")
      expect((yield* loadVoxConfig({ env: { VOX_AUTH_REGISTRATION: "invite" } })).auth.registration).toBe("invite")
      const error = yield* loadVoxConfig({ env: { VOX_AUTH_REGISTRATION: "sometimes" } }).pipe(Effect.flip)
      expect(error.setting).toBe("auth.registration")
      expect(error.message).toContain("VOX_AUTH_REGISTRATION")
    }))
})
