// Issue 3, acceptance 2: walks the whole route table. Every route the server serves is a protocol
// endpoint with a declared access; a member without a permission gets 403 FORBIDDEN naming it on every
// endpoint that needs one; a former member and a banned user are refused on every member endpoint.
// A new route without an access check cannot slip in: it is either missing from the table (first
// test), or declares a permission this walk then proves is enforced.
import { describe, expect, it, layer } from "@effect/vitest"
import { Chunk, Effect } from "effect"
import { endpoints } from "../../src/protocol/api/index.js"
import * as Invites from "../../src/protocol/api/invites.js"
import * as Roles from "../../src/protocol/api/roles.js"
import * as Spaces from "../../src/protocol/api/spaces.js"
import * as Members from "../../src/protocol/api/members.js"
import type { Endpoint } from "../../src/protocol/endpoint.js"
import { NO_PERMISSIONS, Permission } from "../../src/protocol/permissions.js"
import { router } from "../../src/runtime/http/HttpLive.js"
import { backends } from "../support/backends.js"
import { rawEndpointRequest } from "../support/http.js"
import { PASSWORD, registered, TestServer, TestServerLive, uniqueName } from "../support/server.js"

/** Endpoints open to any signed-in account or to anyone: each one reviewed, the rest need membership. */
const OPEN = new Set([
  "health", "ready", "gateway", "register", "login", "logout", "getMe", "updateMe", "getUser", "joinServer", "resolveInvite",
  // the caller's own sessions and password
  "listSessions", "revokeSession", "revokeOtherSessions", "changePassword",
  // direct messages live outside the community: any account; the Dm entity refuses non-participants
  // (403, test/e2e/dms.test.ts walks every DM endpoint)
  "openDm", "listDms", "getDm", "closeDm", "updateDm", "addDmRecipient", "removeDmRecipient", "markDmRead",
  "getDmHistory", "sendDmMessage", "editDmMessage", "deleteDmMessage", "addDmReaction", "removeDmReaction",
  // a DM's files too; a download checks the file's own feed (membership and permissions) or DM
  // (test/e2e/files.test.ts, test/e2e/dmFiles.test.ts)
  "uploadDmFile", "downloadFile", "downloadThumbnail",
  // blocks, friends and dm-settings are the caller's own, member or not (test/e2e/relationships.test.ts)
  "blockUser", "unblockUser", "listBlocks", "addFriend", "removeFriend", "listFriends", "getDmSettings", "updateDmSettings",
  // E2EE keys belong to accounts, as DMs do: the caller's own devices, keys, pairings and backup; a
  // claim of another user's key packages asks whether the caller may DM them (test/e2e/keys.test.ts)
  "listDevices", "addDevice", "removeDevice", "uploadPrekeys", "claimPrekeys", "startPairing", "respondPairing",
  "putKeyBackup", "getKeyBackup", "resetKeys",
  // two-factor and WebAuthn: the caller's own account, and the login steps that come before a session
  "getTwoFactor", "beginTwoFactorSetup", "confirmTwoFactorSetup", "removeTwoFactor", "loginTwoFactor",
  "webauthnChallenge", "webauthnLogin", "listWebAuthnCredentials", "deleteWebAuthnCredential",
  // reports: a DM participant need not be a member; what they may report is checked by the Community
  // entity (test/e2e/reports.test.ts)
  "createReport"
])

const key = (method: string, path: string) => `${method} ${path}`

/** Calls an endpoint as `token`, with an empty JSON object for a body where it takes one. */
const send = (token: string, endpoint: Endpoint, params: Record<string, unknown>) =>
  Effect.map(
    rawEndpointRequest(endpoint, params, { token, body: endpoint.method !== "GET" && endpoint.method !== "DELETE" ? "{}" : undefined }),
    ({ status, body }) => ({ status, body: body as { error?: Record<string, unknown> } })
  )

describe("the route table", () => {
  it("serves exactly the protocol's endpoints, each once", () => {
    const served = Chunk.toReadonlyArray(router.routes).map((r) => key(r.method, r.path)).sort()
    const declared = endpoints.map((e) => key(e.method, e.path)).sort()
    expect(served).toEqual(declared)
    expect(new Set(declared).size).toBe(declared.length)
  })

  it("leaves only reviewed endpoints open to non-members", () => {
    const open = endpoints.filter((e) => e.access === "public" || e.access === "account").map((e) => e.name)
    expect(new Set(open)).toEqual(OPEN)
  })
})

for (const backend of backends) {
  describe(`access on ${backend.name}`, () => {
    layer(TestServerLive(backend), { excludeTestServices: true })((it) => {
      it.effect("every permission endpoint refuses a member without it, naming the permission", () =>
        Effect.gen(function* () {
          const { client } = yield* TestServer
          const owner = yield* registered(client, uniqueName("owner"))
          const plain = yield* registered(client, uniqueName("plain"))
          const other = yield* registered(client, uniqueName("other"))

          // @everyone loses everything: the plain member holds no permission at all.
          const roles = yield* owner.client.call(Roles.listRoles, { query: {} })
          const everyone = roles.items.find((r) => r.name === Roles.EVERYONE_ROLE_NAME)!
          yield* owner.client.call(Roles.updateRole, { params: { role_id: everyone.role_id }, body: { permissions: NO_PERMISSIONS } })
          expect((yield* plain.client.me()).permissions).toBe(0n)

          const category = yield* owner.client.call(Spaces.createCategory, { body: { name: "c" } })
          const feed = yield* owner.client.call(Spaces.createFeed, { body: { name: "f", type: "text" } })
          const room = yield* owner.client.call(Spaces.createRoom, { body: { name: "r", type: "voice" } })
          const role = yield* owner.client.call(Roles.createRole, { body: { name: "low" } })
          const invite = yield* owner.client.call(Invites.createInvite, { body: {} })

          const params: Record<string, unknown> = {
            feed_id: feed.feed_id,
            room_id: room.room_id,
            category_id: category.category_id,
            role_id: role.role_id,
            user_id: other.user_id,
            code: invite.code,
            target_type: "role",
            target_id: role.role_id,
            msg_id: 1,
            thread_id: 1,
            emoji: "x",
            emoji_id: 1,
            sticker_id: 1,
            dm_id: 1,
            report_id: 1
          }
          const guarded = endpoints.filter((e) => typeof e.access === "object")
          expect(guarded.length).toBeGreaterThan(25)
          const refusals = (expected: (access: { permission: string; space?: string }) => string, among = guarded) =>
            Effect.forEach(among, (endpoint) =>
              Effect.gen(function* () {
                const access = endpoint.access as { permission: string; space?: string }
                const { status, body } = yield* send(plain.token, endpoint, params)
                expect({ endpoint: endpoint.name, status, code: body.error?.code, missing: body.error?.missing_permission })
                  .toEqual({ endpoint: endpoint.name, status: 403, code: "FORBIDDEN", missing: expected(access) })
              }), { discard: true })
          // In a feed or room one cannot see, the answer is that one cannot see it.
          yield* refusals((access) => (access.space === undefined ? access.permission : "VIEW_SPACE"))
          // Once @everyone sees every space again, each endpoint names its own permission.
          yield* owner.client.call(Roles.updateRole, { params: { role_id: everyone.role_id }, body: { permissions: Permission.VIEW_SPACE } })
          yield* refusals((access) => access.permission, guarded.filter((e) => (e.access as { permission: string }).permission !== "VIEW_SPACE"))
          // Deleting someone else's invite takes MANAGE_SERVER (the creator may delete their own).
          const refused = yield* send(plain.token, Invites.deleteInvite, params)
          expect(refused.body.error).toMatchObject({ code: "FORBIDDEN", missing_permission: "MANAGE_SERVER" })
          // Nothing was changed by any of it.
          expect((yield* owner.client.call(Spaces.getFeed, { params: { feed_id: feed.feed_id } })).name).toBe("f")
          expect((yield* owner.client.call(Invites.listInvites, { query: {} })).items.map((i) => i.code)).toContain(invite.code)
        }))
    })
    // A fresh server: its first account is the owner who bans.
    layer(TestServerLive(backend), { excludeTestServices: true })((it) => {
      it.effect("a former member and a banned user are refused on every member endpoint at once", () =>
        Effect.gen(function* () {
          const { client } = yield* TestServer
          const owner = yield* registered(client, uniqueName("owner"))
          const leaver = yield* registered(client, uniqueName("leaver"))
          const bannedName = uniqueName("banned")
          const banned = yield* registered(client, bannedName)
          const layout = yield* owner.client.call(Spaces.getLayout)
          const feed = yield* owner.client.call(Spaces.createFeed, { body: { name: "g", type: "text" } })
          expect(layout.feeds.length + 1).toBe((yield* owner.client.call(Spaces.getLayout)).feeds.length)
          const params = { feed_id: feed.feed_id, room_id: 1, category_id: 1, role_id: 1, user_id: owner.user_id, code: "x", target_type: "role", target_id: 1, msg_id: 1, thread_id: 1, emoji: "x", emoji_id: 1, sticker_id: 1, dm_id: 1, report_id: 1 }

          yield* leaver.client.call(Members.leaveServer)
          yield* owner.client.call(Members.banMember, { params: { user_id: banned.user_id }, body: { reason: "spam" } })
          // the ban signed them out everywhere; signed in again, they meet BANNED
          const bannedToken = (yield* client.login({ username: bannedName, password: PASSWORD })).token

          const membersOnly = endpoints.filter((e) => e.access !== "public" && e.access !== "account")
          for (const endpoint of membersOnly) {
            const left = yield* send(leaver.token, endpoint, params)
            expect({ endpoint: endpoint.name, status: left.status, code: left.body.error?.code })
              .toEqual({ endpoint: endpoint.name, status: 403, code: "FORBIDDEN" })
            const out = yield* send(bannedToken, endpoint, params)
            expect({ endpoint: endpoint.name, status: out.status, code: out.body.error?.code })
              .toEqual({ endpoint: endpoint.name, status: 403, code: "BANNED" })
          }
          // Their accounts still work where membership is not needed.
          expect((yield* leaver.client.me()).user_id).toBe(leaver.user_id)
        }))
    })
  })
}
