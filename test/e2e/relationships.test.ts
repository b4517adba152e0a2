// Blocks, friends and dm-settings end to end over HTTP and the gateway (issue 6 part A, issue 5 "blocks
// hold"): friend requests, acceptance (also when both ask at once), declining, removing and listing,
// with events to the two users alone; each dm-setting on every way to start a DM (1:1 open, group open,
// adding to a group); a block refusing DMs and friend requests both ways, freezing the pair's 1:1 DM on
// every DM endpoint, ending a friendship, and keeping the blocker's DM events and typing from the
// blocked user's gateway. On SQLite and (when configured) PostgreSQL.
import { describe, expect, layer } from "@effect/vitest"
import { Effect } from "effect"
import type { GatewayClient } from "../../src/client/GatewayClient.js"
import * as Dms from "../../src/protocol/api/dms.js"
import * as Members from "../../src/protocol/api/members.js"
import * as Rel from "../../src/protocol/api/relationships.js"
import type { Endpoint } from "../../src/protocol/endpoint.js"
import { Op } from "../../src/protocol/gateway.js"
import type { DmId, UserId } from "../../src/protocol/ids.js"
import { backends } from "../support/backends.js"
import { countRows, eventsOfType, withSuiteDatabase } from "../support/db.js"
import { failure } from "../support/expect.js"
import { dispatchesWithin, nextDispatch, readyGatewayFor } from "../support/gateway.js"
import { rawEndpointRequest } from "../support/http.js"
import { newUser, owner, TestServerLive } from "../support/server.js"

type Person = Effect.Effect.Success<ReturnType<typeof newUser>>

const people = (n: number, prefix: string) =>
  Effect.all(Array.from({ length: n }, (_, i) => newUser(`${prefix}${i}`)), { concurrency: "unbounded" })

const connected = (who: Person) => readyGatewayFor(who.token)

const befriend = (who: Person, target: Person) => who.client.call(Rel.addFriend, { params: { user_id: target.user_id } })
const unfriend = (who: Person, target: Person) => who.client.call(Rel.removeFriend, { params: { user_id: target.user_id } })
const block = (who: Person, target: Person) => who.client.call(Rel.blockUser, { params: { user_id: target.user_id } })
const unblock = (who: Person, target: Person) => who.client.call(Rel.unblockUser, { params: { user_id: target.user_id } })
const setDms = (who: Person, dm_permission: Rel.DmPermission) =>
  who.client.call(Rel.updateDmSettings, { body: { dm_permission } })

/** user id -> relationship, as the caller's friend list shows it. */
const friendsOf = (who: Person, relationship?: Rel.FriendState) =>
  Effect.map(
    who.client.call(Rel.listFriends, { query: relationship === undefined ? {} : { relationship } }),
    (page) => Object.fromEntries(page.items.map((f) => [f.user_id, f.relationship]))
  )

const open = (who: Person, recipient: Person) => who.client.call(Dms.openDm, { body: { recipient_id: recipient.user_id } })
const openGroup = (who: Person, recipients: ReadonlyArray<Person>) =>
  who.client.call(Dms.openDm, { body: { recipient_ids: recipients.map((r) => r.user_id) } })
const addTo = (who: Person, dmId: DmId, added: Person) =>
  who.client.call(Dms.addDmRecipient, { params: { dm_id: dmId, user_id: added.user_id } })
const say = (who: Person, dmId: DmId, body: string) =>
  who.client.call(Dms.sendDmMessage, { params: { dm_id: dmId }, body: { body } })

/** The three ways to start talking to `to`: a 1:1 DM, a group DM, being added to a group (of `from` and `host`). */
const everyWayToStart = (from: Person, to: Person, host: Person) =>
  Effect.gen(function* () {
    const group = yield* openGroup(from, [host])
    return {
      direct: yield* failure(open(from, to)).pipe(Effect.orElseSucceed(() => ({ code: "OK" }))),
      group: yield* failure(openGroup(from, [to])).pipe(Effect.orElseSucceed(() => ({ code: "OK" }))),
      add: yield* failure(addTo(from, group.dm_id, to)).pipe(Effect.orElseSucceed(() => ({ code: "OK" })))
    }
  })

const allowed = { direct: { code: "OK" }, group: { code: "OK" }, add: { code: "OK" } }
const refused = (code: string) => ({ direct: { code }, group: { code }, add: { code } })

/** Relationship and DM events a gateway received within a short wait. */
const socialEvents = (gateway: GatewayClient) =>
  Effect.map(dispatchesWithin(gateway), (all) =>
    all.filter((d) => ["FRIEND_REQUEST", "FRIEND_REMOVE", "BLOCK_ADD", "BLOCK_REMOVE"].includes(d.t)).map((d) => ({ t: d.t, d: d.d })))

for (const backend of backends) {
  describe(`relationships on ${backend.name}`, () => {
    layer(TestServerLive(backend), { excludeTestServices: true })((it) => {
      it.scoped("friends: a request, its acceptance by asking back, lists both ways, removal; events to the two alone", () =>
        Effect.gen(function* () {
          yield* owner
          const [alice, bob, carol] = yield* people(3, "fr")
          const [aG, bG, cG] = yield* Effect.all([connected(alice), connected(bob), connected(carol)])

          yield* befriend(alice, bob)
          const pending = { t: "FRIEND_REQUEST", d: { user_id: alice.user_id, target_id: bob.user_id, status: "pending" } }
          expect(yield* socialEvents(aG)).toEqual([pending])
          expect(yield* socialEvents(bG)).toEqual([pending])
          expect(yield* friendsOf(alice)).toEqual({ [bob.user_id]: "outgoing" })
          expect(yield* friendsOf(bob)).toEqual({ [alice.user_id]: "incoming" })
          expect(yield* friendsOf(bob, "friend")).toEqual({})
          // Asking again changes nothing and tells nobody.
          yield* befriend(alice, bob)
          expect(yield* socialEvents(bG)).toEqual([])

          yield* befriend(bob, alice)
          const accepted = { t: "FRIEND_REQUEST", d: { user_id: bob.user_id, target_id: alice.user_id, status: "accepted" } }
          expect(yield* socialEvents(aG)).toEqual([accepted])
          expect(yield* socialEvents(bG)).toEqual([accepted])
          expect(yield* friendsOf(alice)).toEqual({ [bob.user_id]: "friend" })
          const listed = yield* bob.client.call(Rel.listFriends, { query: { relationship: "friend" } })
          expect(listed).toEqual({
            items: [{
              user_id: alice.user_id,
              username: alice.username,
              display_name: alice.username,
              avatar: null,
              relationship: "friend",
              since: expect.any(String)
            }],
            cursor: null
          })

          // Carol asks Alice; Alice declines.
          yield* befriend(carol, alice)
          expect(yield* friendsOf(alice, "incoming")).toEqual({ [carol.user_id]: "incoming" })
          yield* unfriend(alice, carol)
          expect(yield* friendsOf(carol)).toEqual({})
          const declined = { t: "FRIEND_REMOVE", d: { user_id: alice.user_id, target_id: carol.user_id } }
          expect((yield* socialEvents(cG)).at(-1)).toEqual(declined)

          // Pages: one at a time, with a cursor.
          yield* befriend(carol, alice)
          const first = yield* alice.client.call(Rel.listFriends, { query: { limit: 1 } })
          expect(first.items.map((f) => f.user_id)).toEqual([Math.min(bob.user_id, carol.user_id)])
          const second = yield* alice.client.call(Rel.listFriends, { query: { limit: 1, after: first.cursor! } })
          expect(second).toMatchObject({ items: [{ user_id: Math.max(bob.user_id, carol.user_id) }], cursor: null })
          expect(yield* failure(alice.client.call(Rel.listFriends, { query: { after: "nonsense" } }))).toEqual({ code: "INVALID_BODY" })

          // Removing a friend tells both; removing nothing is no error (a retried request).
          yield* socialEvents(aG)
          yield* unfriend(bob, alice)
          const removed = { t: "FRIEND_REMOVE", d: { user_id: bob.user_id, target_id: alice.user_id } }
          expect(yield* socialEvents(aG)).toEqual([removed])
          expect(yield* socialEvents(bG)).toEqual([removed])
          yield* unfriend(bob, alice)
          expect(yield* socialEvents(bG)).toEqual([])
          expect(yield* friendsOf(bob)).toEqual({})

          expect(yield* failure(befriend(alice, alice))).toEqual({ code: "INVALID_BODY" })
          expect(yield* failure(alice.client.call(Rel.addFriend, { params: { user_id: 4_000_000_000 as UserId } })))
            .toEqual({ code: "USER_NOT_FOUND" })
          // Nobody else heard any of it.
          const strangerSaw = (yield* dispatchesWithin(cG)).filter((d) => d.t === "FRIEND_REQUEST" && d.d.user_id !== carol.user_id && d.d.target_id !== carol.user_id)
          expect(strangerSaw).toEqual([])
        }))

      it.effect("crossing friend requests sent at the same moment end as one friendship", () =>
        Effect.gen(function* () {
          const [a, b] = yield* people(2, "cross")
          yield* Effect.all(Array.from({ length: 10 }, (_, i) => (i % 2 === 0 ? befriend(a, b) : befriend(b, a))), {
            concurrency: "unbounded"
          })
          expect(yield* friendsOf(a)).toEqual({ [b.user_id]: "friend" })
          expect(yield* friendsOf(b)).toEqual({ [a.user_id]: "friend" })
          const requests = (yield* withSuiteDatabase(eventsOfType("FRIEND_REQUEST"))).filter((e) =>
            [e.payload.user_id, e.payload.target_id].sort().join() === [a.user_id, b.user_id].sort().join())
          expect(requests.map((e) => e.payload.status)).toEqual(["pending", "accepted"])
        }))

      it.effect("dm-settings: everyone, friends_only, mutual_servers and nobody on every way to start a DM", () =>
        Effect.gen(function* () {
          // One recipient per setting, so every case starts DMs between people who have none yet.
          const [member, friend, outsider, host, ...targets] = yield* people(8, "set")
          const settings: ReadonlyArray<Rel.DmPermission> = ["everyone", "friends_only", "mutual_servers", "nobody"]
          const of = (setting: Rel.DmPermission) => targets[settings.indexOf(setting)]!
          yield* outsider.client.call(Members.leaveServer)
          for (const target of targets) {
            yield* befriend(friend, target)
            yield* befriend(target, friend)
          }
          // A DM that exists before its recipient says `nobody`.
          const existing = yield* open(host, of("nobody"))

          expect(yield* of("nobody").client.call(Rel.getDmSettings)).toEqual({ dm_permission: "everyone" })
          const bad = yield* rawEndpointRequest(Rel.updateDmSettings, {}, { token: of("nobody").token, body: { dm_permission: "strangers" } })
          expect({ status: bad.status, code: bad.body.error.code }).toEqual({ status: 400, code: "INVALID_BODY" })
          expect(yield* of("nobody").client.call(Rel.getDmSettings)).toEqual({ dm_permission: "everyone" })

          const expected: Record<Rel.DmPermission, object> = {
            everyone: { member: allowed, friend: allowed, outsider: allowed },
            friends_only: { member: refused("DM_PERMISSION_DENIED"), friend: allowed, outsider: refused("DM_PERMISSION_DENIED") },
            mutual_servers: { member: allowed, friend: allowed, outsider: refused("DM_PERMISSION_DENIED") },
            nobody: { member: refused("DM_PERMISSION_DENIED"), friend: refused("DM_PERMISSION_DENIED"), outsider: refused("DM_PERMISSION_DENIED") }
          }
          for (const setting of settings) {
            const target = of(setting)
            expect(yield* setDms(target, setting)).toEqual({ dm_permission: setting })
            expect(yield* target.client.call(Rel.getDmSettings)).toEqual({ dm_permission: setting })
            const got = {
              member: yield* everyWayToStart(member, target, host),
              friend: yield* everyWayToStart(friend, target, host),
              outsider: yield* everyWayToStart(outsider, target, host)
            }
            expect({ setting, ...got }).toEqual({ setting, ...expected[setting] })
          }

          // A group naming one recipient who refuses is refused whole: nothing is made.
          const before = (yield* member.client.call(Dms.listDms)).dms.length
          expect(yield* failure(openGroup(member, [host, of("everyone"), of("nobody")]))).toEqual({ code: "DM_PERMISSION_DENIED" })
          expect((yield* member.client.call(Dms.listDms)).dms.length).toBe(before)

          // Settings judge new conversations: a 1:1 DM that exists goes on, and is reopened, under `nobody`.
          yield* say(host, existing.dm_id, "still here")
          yield* say(of("nobody"), existing.dm_id, "and me")
          expect((yield* open(host, of("nobody"))).dm_id).toBe(existing.dm_id)
          // A refused open made nothing.
          const refusedPair = [member.user_id, of("nobody").user_id].sort((a, b) => a - b)
          expect(yield* withSuiteDatabase(countRows("dms", (sql) => sql`pair_low = ${refusedPair[0]} AND pair_high = ${refusedPair[1]}`)))
            .toBe(0)
          // Their own setting does not stop them reaching others.
          expect((yield* open(of("nobody"), outsider)).participant_ids).toContain(outsider.user_id)
        }))

      it.scoped("a block: no new DM or friend request either way, the pair's 1:1 DM frozen on every endpoint, the friendship gone", () =>
        Effect.gen(function* () {
          const [blocker, blocked, carol, stranger] = yield* people(4, "blk")
          yield* befriend(blocker, blocked)
          yield* befriend(blocked, blocker)
          const direct = yield* open(blocked, blocker)
          const mine = yield* say(blocked, direct.dm_id, "hello")
          const theirs = yield* say(blocker, direct.dm_id, "hi")
          yield* blocked.client.call(Dms.addDmReaction, { params: { dm_id: direct.dm_id, msg_id: theirs.msg_id, emoji: "👍" } })
          const [blockerG, blockedG] = yield* Effect.all([connected(blocker), connected(blocked)])

          yield* block(blocker, blocked)
          // The friendship ended, which both hear; the block itself only its author's sessions.
          const ended = { t: "FRIEND_REMOVE", d: { user_id: blocker.user_id, target_id: blocked.user_id } }
          expect(yield* socialEvents(blockerG)).toEqual([ended, { t: "BLOCK_ADD", d: { user_id: blocker.user_id, target_id: blocked.user_id } }])
          expect(yield* socialEvents(blockedG)).toEqual([ended])
          expect(yield* friendsOf(blocked)).toEqual({})
          const blocks = yield* blocker.client.call(Rel.listBlocks, { query: {} })
          expect(blocks).toEqual({
            items: [{ user_id: blocked.user_id, username: blocked.username, display_name: blocked.username, avatar: null, since: expect.any(String) }],
            cursor: null
          })
          expect((yield* blocked.client.call(Rel.listBlocks, { query: {} })).items).toEqual([])

          // Blocking again changes nothing; blocking yourself or nobody is refused.
          yield* block(blocker, blocked)
          expect(yield* withSuiteDatabase(countRows("user_blocks", (sql) => sql`user_id = ${blocker.user_id}`))).toBe(1)
          expect(yield* failure(block(blocker, blocker))).toEqual({ code: "INVALID_BODY" })
          expect(yield* failure(blocker.client.call(Rel.blockUser, { params: { user_id: 4_000_000_000 as UserId } })))
            .toEqual({ code: "USER_NOT_FOUND" })

          // No new conversation either way, whoever asks: USER_BLOCKED on all three ways and on friend requests.
          expect(yield* everyWayToStart(blocked, blocker, carol)).toEqual(refused("USER_BLOCKED"))
          expect(yield* everyWayToStart(blocker, blocked, carol)).toEqual(refused("USER_BLOCKED"))
          expect(yield* failure(befriend(blocked, blocker))).toEqual({ code: "USER_BLOCKED" })
          expect(yield* failure(befriend(blocker, blocked))).toEqual({ code: "USER_BLOCKED" })

          // Every endpoint of their 1:1 DM, for both: readable and closable, nothing in it changes.
          const bodies: Record<string, unknown> = {
            updateDm: { name: "x" },
            markDmRead: { up_to_msg_id: theirs.msg_id },
            sendDmMessage: { body: "let me in" },
            editDmMessage: { body: "edited" }
          }
          const perDm = (Object.values(Dms) as ReadonlyArray<unknown>).filter((e): e is Endpoint =>
            typeof e === "object" && e !== null && "path" in e && (e as { path: string }).path.includes(":dm_id"))
          expect(perDm.length).toBe(12)
          const expected: Record<string, { status: number; code?: string }> = {
            getDm: { status: 200 },
            getDmHistory: { status: 200 },
            closeDm: { status: 204 },
            // group-only endpoints answer as for any 1:1 DM
            updateDm: { status: 400, code: "SPACE_TYPE_MISMATCH" },
            addDmRecipient: { status: 400, code: "SPACE_TYPE_MISMATCH" },
            removeDmRecipient: { status: 400, code: "SPACE_TYPE_MISMATCH" },
            markDmRead: { status: 403, code: "USER_BLOCKED" },
            sendDmMessage: { status: 403, code: "USER_BLOCKED" },
            editDmMessage: { status: 403, code: "USER_BLOCKED" },
            deleteDmMessage: { status: 403, code: "USER_BLOCKED" },
            addDmReaction: { status: 403, code: "USER_BLOCKED" },
            removeDmReaction: { status: 403, code: "USER_BLOCKED" }
          }
          for (const [who, own] of [[blocked, mine], [blocker, theirs]] as const) {
            for (const endpoint of perDm) {
              const params = { dm_id: direct.dm_id, msg_id: own.msg_id, user_id: carol.user_id, emoji: "👍" }
              const { status, body } = yield* rawEndpointRequest(endpoint, params, { token: who.token, body: bodies[endpoint.name] })
              expect({ endpoint: endpoint.name, status, ...(body?.error === undefined ? {} : { code: body.error.code }) })
                .toEqual({ endpoint: endpoint.name, ...expected[endpoint.name] })
            }
            // Someone outside the DM is still refused as a non-participant first.
            const outside = yield* rawEndpointRequest(Dms.sendDmMessage, { dm_id: direct.dm_id }, { token: stranger.token, body: { body: "x" } })
            expect(outside.body.error.code).toBe("FORBIDDEN")
          }
          // The existing messages remain, as they were.
          const kept = yield* blocker.client.call(Dms.getDmHistory, { params: { dm_id: direct.dm_id }, query: {} })
          expect(kept.messages.map((m) => m.body)).toEqual(["hi", "hello"])
          expect(kept.messages[0]!.reactions.map((r) => r.emoji)).toEqual(["👍"])

          // Typing in the frozen DM reaches nobody; nor does any event of it.
          yield* blockerG.send(Op.TYPING, { dm_id: direct.dm_id })
          const blockedSaw = yield* dispatchesWithin(blockedG)
          expect(blockedSaw.filter((d) => d.d?.dm_id === direct.dm_id || d.t === "TYPING_START")).toEqual([])

          // Lifting the block reopens the DM (not the friendship); unblocking again is no error.
          yield* unblock(blocker, blocked)
          expect(yield* socialEvents(blockerG)).toEqual([{ t: "BLOCK_REMOVE", d: { user_id: blocker.user_id, target_id: blocked.user_id } }])
          expect(yield* socialEvents(blockedG)).toEqual([])
          yield* unblock(blocker, blocked)
          yield* say(blocked, direct.dm_id, "again")
          expect((yield* open(blocker, blocked)).dm_id).toBe(direct.dm_id)
          expect(yield* friendsOf(blocker)).toEqual({})
        }))

      it.scoped("a group DM both are in stays open; the blocked user cannot add the blocker, and sees none of the blocker's typing", () =>
        Effect.gen(function* () {
          const [blocker, blocked, carol, dave] = yield* people(4, "grp")
          const group = yield* openGroup(carol, [blocker, blocked])
          const other = yield* openGroup(carol, [blocked])
          yield* block(blocker, blocked)
          const [blockedG, carolG] = yield* Effect.all([connected(blocked), connected(carol)])

          // Neither can bring the other into a group; someone else can.
          expect(yield* failure(addTo(blocked, other.dm_id, blocker))).toEqual({ code: "USER_BLOCKED" })
          const own = yield* openGroup(blocker, [dave])
          expect(yield* failure(addTo(blocker, own.dm_id, blocked))).toEqual({ code: "USER_BLOCKED" })
          yield* addTo(carol, other.dm_id, blocker)

          // The group belongs to Carol too: both still write in it, and everyone gets the messages.
          yield* say(blocker, group.dm_id, "from the blocker")
          yield* say(blocked, group.dm_id, "from the blocked")
          yield* nextDispatch(carolG, (d) => d.t === "MESSAGE_CREATE" && d.d.body === "from the blocked")

          // Typing is activity: the blocker's reaches Carol, not the blocked user (and the other way).
          const blockerG = yield* connected(blocker)
          yield* blockerG.send(Op.TYPING, { dm_id: group.dm_id })
          yield* nextDispatch(carolG, (d) => d.t === "TYPING_START" && d.d.user_id === blocker.user_id)
          yield* blockedG.send(Op.TYPING, { dm_id: group.dm_id })
          yield* nextDispatch(carolG, (d) => d.t === "TYPING_START" && d.d.user_id === blocked.user_id)
          expect((yield* dispatchesWithin(blockedG)).filter((d) => d.t === "TYPING_START")).toEqual([])
          expect((yield* dispatchesWithin(blockerG)).filter((d) => d.t === "TYPING_START")).toEqual([])
        }))
    })
  })
}
