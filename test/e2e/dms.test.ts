// Direct messages end to end over HTTP and the gateway (issue 6, first part): opening 1:1 DMs (the same
// pair always gets the same DM, also when opened concurrently) and group DMs (participant limit),
// listing, closing and reopening, renaming, adding, removing and leaving, messages (nonce, history,
// edit, delete, reactions, bodies stored exactly as sent, one order), read receipts, typing, and the
// participant check: a non-participant is refused (403) on every DM endpoint and never receives a DM
// event. On SQLite and (when configured) PostgreSQL.
import { describe, expect, layer } from "@effect/vitest"
import { Effect } from "effect"
import * as Dms from "../../src/protocol/api/dms.js"
import type { HistoryQuery } from "../../src/protocol/api/messages.js"
import * as ServerApi from "../../src/protocol/api/server.js"
import { Op } from "../../src/protocol/gateway.js"
import type { DmId, UserId } from "../../src/protocol/ids.js"
import type { Snowflake } from "../../src/protocol/snowflake.js"
import { backends } from "../support/backends.js"
import { countRows, eventsOfType, withSuiteDatabase } from "../support/db.js"
import { failure } from "../support/expect.js"
import { dispatchesWithin, gatewayFor, nextDispatch } from "../support/gateway.js"
import { rawEndpointRequest } from "../support/http.js"
import { newUser, owner, TestServerLive } from "../support/server.js"

type Person = Effect.Effect.Success<ReturnType<typeof newUser>>

const open = (who: Person, recipient: Person) => who.client.call(Dms.openDm, { body: { recipient_id: recipient.user_id } })

const openGroup = (who: Person, recipients: ReadonlyArray<Person>, name?: string) =>
  who.client.call(Dms.openDm, {
    body: { recipient_ids: recipients.map((r) => r.user_id), ...(name === undefined ? {} : { name }) }
  })

const say = (who: Person, dmId: DmId, body: string, extra: Partial<Dms.SendDmMessage> = {}) =>
  who.client.call(Dms.sendDmMessage, { params: { dm_id: dmId }, body: { body, ...extra } })

const history = (who: Person, dmId: DmId, query: HistoryQuery = {}) =>
  Effect.map(who.client.call(Dms.getDmHistory, { params: { dm_id: dmId }, query }), (r) => r.messages)

const listed = (who: Person) => Effect.map(who.client.call(Dms.listDms), (r) => r.dms.map((d) => d.dm_id))

const storedBody = (id: Snowflake) =>
  withSuiteDatabase((sql) => sql<{ body: string }>`SELECT body FROM dm_messages WHERE id = ${id.toString()}`).pipe(
    Effect.map((rows) => rows[0]?.body)
  )

const users = (...people: ReadonlyArray<Person>) => people.map((p) => p.user_id as UserId)

for (const backend of backends) {
  describe(`direct messages on ${backend.name}`, () => {
    layer(TestServerLive(backend), { excludeTestServices: true })((it) => {
      it.scoped("a 1:1 DM is opened once per pair: 201, then 200 with the same DM from either side", () =>
        Effect.gen(function* () {
          yield* owner // the server's first account, who later changes its limits
          const alice = yield* newUser("alice")
          const bob = yield* newUser("bob")
          const aliceGateway = yield* gatewayFor(alice.token)
          const bobGateway = yield* gatewayFor(bob.token)
          yield* nextDispatch(bobGateway, (d) => d.t === "READY")

          const first = yield* rawEndpointRequest(Dms.openDm, {}, { token: alice.token, body: { recipient_id: bob.user_id } })
          expect(first.status).toBe(201)
          expect(first.body).toMatchObject({
            is_group: false,
            participant_ids: expect.arrayContaining(users(alice, bob)),
            name: null,
            icon: null,
            owner_id: null,
            last_message_id: null
          })
          expect(first.body.participant_ids).toHaveLength(2)
          const dmId = first.body.dm_id as DmId
          for (const gateway of [aliceGateway, bobGateway]) {
            const created = yield* nextDispatch(gateway, (d) => d.t === "DM_CREATE" && d.d.dm_id === dmId)
            expect(created.d.participant_ids).toEqual(first.body.participant_ids)
          }

          const again = yield* rawEndpointRequest(Dms.openDm, {}, { token: alice.token, body: { recipient_id: bob.user_id } })
          expect({ status: again.status, dm_id: again.body.dm_id }).toEqual({ status: 200, dm_id: dmId })
          expect((yield* open(bob, alice)).dm_id).toBe(dmId)
          expect(yield* withSuiteDatabase(countRows("dms", (sql) => sql`id = ${dmId}`))).toBe(1)
          // Nobody was told of a new DM the second and third time.
          const later = yield* dispatchesWithin(bobGateway)
          expect(later.filter((d) => d.t === "DM_CREATE")).toEqual([])

          // Not with yourself, not with nobody, not both forms at once.
          expect(yield* failure(open(alice, alice))).toEqual({ code: "INVALID_BODY" })
          expect(yield* failure(alice.client.call(Dms.openDm, { body: { recipient_id: 4_000_000_000 as UserId } }))).toEqual({ code: "USER_NOT_FOUND" })
          const both = yield* rawEndpointRequest(Dms.openDm, {}, {
            token: alice.token,
            body: { recipient_id: bob.user_id, recipient_ids: [bob.user_id] }
          })
          expect({ status: both.status, code: both.body.error.code }).toEqual({ status: 400, code: "INVALID_BODY" })
        }))

      it.effect("simultaneous opens of the same pair, from both sides, all end with one DM", () =>
        Effect.gen(function* () {
          const carol = yield* newUser("carol")
          const dave = yield* newUser("dave")
          const opens = yield* Effect.all(
            Array.from({ length: 12 }, (_, i) =>
              rawEndpointRequest(Dms.openDm, {}, i % 2 === 0
                ? { token: carol.token, body: { recipient_id: dave.user_id } }
                : { token: dave.token, body: { recipient_id: carol.user_id } })),
            { concurrency: "unbounded" }
          )
          const ids = new Set(opens.map((r) => r.body.dm_id))
          expect(ids.size).toBe(1)
          expect(opens.map((r) => r.status).sort()).toEqual([...Array(11).fill(200), 201])
          const dmId = [...ids][0] as DmId
          expect(yield* withSuiteDatabase(countRows("dm_recipients", (sql) => sql`dm_id = ${dmId}`))).toBe(2)
          expect(yield* withSuiteDatabase(eventsOfType("DM_CREATE"))).toSatisfy((events: Array<any>) =>
            events.filter((e) => e.payload.dm_id === dmId).length === 1)
        }))

      it.scoped("a group DM: its owner, name and participants; the server's participant limit refuses more (403)", () =>
        Effect.gen(function* () {
          const boss = yield* owner
          const [a, b, c, d] = yield* Effect.all([newUser("ga"), newUser("gb"), newUser("gc"), newUser("gd")])
          const cGateway = yield* gatewayFor(c.token)
          yield* nextDispatch(cGateway, (x) => x.t === "READY")
          const raw = yield* rawEndpointRequest(Dms.openDm, {}, {
            token: a.token,
            body: { recipient_ids: [b.user_id, c.user_id, c.user_id, a.user_id], name: "Project team" }
          })
          expect(raw.status).toBe(201)
          expect(raw.body).toMatchObject({ is_group: true, name: "Project team", owner_id: a.user_id, icon: null })
          expect([...raw.body.participant_ids].sort()).toEqual(users(a, b, c).sort())
          const created = yield* nextDispatch(cGateway, (x) => x.t === "DM_CREATE" && x.d.dm_id === raw.body.dm_id)
          expect(created.d.name).toBe("Project team")
          // A group is never reused: the same people make a second group.
          const second = yield* openGroup(a, [b, c])
          expect(second.dm_id).not.toBe(raw.body.dm_id)
          expect(second.name).toBeNull()

          expect(yield* failure(openGroup(a, [a]))).toEqual({ code: "INVALID_BODY" })
          expect(yield* failure(a.client.call(Dms.openDm, { body: { recipient_ids: [b.user_id, 4_000_000_000 as UserId] } })))
            .toEqual({ code: "USER_NOT_FOUND" })

          yield* boss.client.call(ServerApi.updateLimits, { body: { max_group_dm_participants: 3 } })
          const over = yield* rawEndpointRequest(Dms.openDm, {}, {
            token: a.token,
            body: { recipient_ids: users(b, c, d) }
          })
          expect({ status: over.status, code: over.body.error.code }).toEqual({ status: 403, code: "FORBIDDEN" })
          expect(yield* failure(a.client.call(Dms.addDmRecipient, { params: { dm_id: second.dm_id, user_id: d.user_id } })))
            .toEqual({ code: "FORBIDDEN" })
          yield* boss.client.call(ServerApi.updateLimits, { body: { max_group_dm_participants: ServerApi.DEFAULT_LIMITS.max_group_dm_participants } })
          yield* a.client.call(Dms.addDmRecipient, { params: { dm_id: second.dm_id, user_id: d.user_id } })
          expect((yield* a.client.call(Dms.getDm, { params: { dm_id: second.dm_id } })).participant_ids).toHaveLength(4)
        }))

      it.effect("closing hides a DM from the closer's list only; reopening or a new message shows it again", () =>
        Effect.gen(function* () {
          const [a, b, c] = yield* Effect.all([newUser("la"), newUser("lb"), newUser("lc")])
          const direct = yield* open(a, b)
          const group = yield* openGroup(a, [b, c], "trio")
          expect(yield* listed(a)).toEqual(expect.arrayContaining([direct.dm_id, group.dm_id]))

          // Most recently active first.
          yield* say(b, direct.dm_id, "latest")
          expect((yield* listed(a)).slice(0, 2)).toEqual([direct.dm_id, group.dm_id])
          const entry = (yield* a.client.call(Dms.listDms)).dms.find((x) => x.dm_id === direct.dm_id)!
          expect(entry.last_message_id).not.toBeNull()

          yield* a.client.call(Dms.closeDm, { params: { dm_id: direct.dm_id } })
          yield* a.client.call(Dms.closeDm, { params: { dm_id: group.dm_id } })
          expect(yield* listed(a)).not.toContain(direct.dm_id)
          expect(yield* listed(a)).not.toContain(group.dm_id)
          expect(yield* listed(b)).toEqual(expect.arrayContaining([direct.dm_id, group.dm_id]))
          // Closed is not left: the DM and its messages are still the closer's.
          expect((yield* a.client.call(Dms.getDm, { params: { dm_id: direct.dm_id } })).dm_id).toBe(direct.dm_id)
          expect(yield* history(a, direct.dm_id)).toHaveLength(1)

          const reopened = yield* rawEndpointRequest(Dms.openDm, {}, { token: a.token, body: { recipient_id: b.user_id } })
          expect({ status: reopened.status, dm_id: reopened.body.dm_id }).toEqual({ status: 200, dm_id: direct.dm_id })
          expect(yield* listed(a)).toContain(direct.dm_id)

          yield* say(c, group.dm_id, "anyone there?")
          expect(yield* listed(a)).toContain(group.dm_id)
        }))

      it.scoped("a group DM is renamed and given an icon by any participant; a 1:1 DM has neither", () =>
        Effect.gen(function* () {
          const [a, b] = yield* Effect.all([newUser("ra"), newUser("rb")])
          const group = yield* openGroup(a, [b], "old")
          const bGateway = yield* gatewayFor(b.token)
          yield* nextDispatch(bGateway, (x) => x.t === "READY")

          const renamed = yield* b.client.call(Dms.updateDm, {
            params: { dm_id: group.dm_id },
            body: { name: "new", icon: "https://cdn.example/icon.png" }
          })
          expect(renamed).toMatchObject({ name: "new", icon: "https://cdn.example/icon.png", owner_id: a.user_id })
          const update = yield* nextDispatch(bGateway, (x) => x.t === "DM_UPDATE" && x.d.dm_id === group.dm_id)
          expect(update.d).toMatchObject({ name: "new", icon: "https://cdn.example/icon.png" })
          const cleared = yield* a.client.call(Dms.updateDm, { params: { dm_id: group.dm_id }, body: { name: null } })
          expect(cleared).toMatchObject({ name: null, icon: "https://cdn.example/icon.png" })

          const direct = yield* open(a, b)
          expect(yield* failure(a.client.call(Dms.updateDm, { params: { dm_id: direct.dm_id }, body: { name: "x" } })))
            .toEqual({ code: "SPACE_TYPE_MISMATCH" })
          const badIcon = yield* rawEndpointRequest(Dms.updateDm, { dm_id: group.dm_id }, { token: a.token, body: { icon: "ftp://x" } })
          expect({ status: badIcon.status, code: badIcon.body.error.code }).toEqual({ status: 400, code: "INVALID_BODY" })
        }))

      it.scoped("adding, removing and leaving: events to the participants, only the owner removes others", () =>
        Effect.gen(function* () {
          const [a, b, c, d] = yield* Effect.all([newUser("pa"), newUser("pb"), newUser("pc"), newUser("pd")])
          const group = yield* openGroup(a, [b])
          const dmId = group.dm_id
          const gateways = {
            a: yield* gatewayFor(a.token),
            b: yield* gatewayFor(b.token),
            c: yield* gatewayFor(c.token),
            d: yield* gatewayFor(d.token)
          }
          for (const g of Object.values(gateways)) yield* nextDispatch(g, (x) => x.t === "READY")
          const isAbout = (t: string, userId: number) => (x: { t: string; d: any }) =>
            x.t === t && x.d.dm_id === dmId && x.d.user_id === userId

          // Any participant adds; adding someone already in is a no-op.
          yield* b.client.call(Dms.addDmRecipient, { params: { dm_id: dmId, user_id: c.user_id } })
          yield* b.client.call(Dms.addDmRecipient, { params: { dm_id: dmId, user_id: c.user_id } })
          for (const g of [gateways.a, gateways.b, gateways.c]) yield* nextDispatch(g, isAbout("DM_RECIPIENT_ADD", c.user_id))
          const welcome = yield* nextDispatch(gateways.c, (x) => x.t === "DM_CREATE" && x.d.dm_id === dmId)
          expect([...welcome.d.participant_ids as Array<number>].sort()).toEqual(users(a, b, c).sort())
          expect(yield* failure(b.client.call(Dms.addDmRecipient, { params: { dm_id: dmId, user_id: 4_000_000_000 as UserId } })))
            .toEqual({ code: "USER_NOT_FOUND" })

          // Only the owner removes someone else.
          expect(yield* failure(b.client.call(Dms.removeDmRecipient, { params: { dm_id: dmId, user_id: c.user_id } })))
            .toEqual({ code: "FORBIDDEN" })
          yield* a.client.call(Dms.removeDmRecipient, { params: { dm_id: dmId, user_id: c.user_id } })
          for (const g of [gateways.a, gateways.b, gateways.c]) yield* nextDispatch(g, isAbout("DM_RECIPIENT_REMOVE", c.user_id))
          // Removed is out: refused, and told nothing more.
          expect(yield* failure(c.client.call(Dms.getDm, { params: { dm_id: dmId } }))).toEqual({ code: "FORBIDDEN" })
          expect(yield* failure(say(c, dmId, "let me back"))).toEqual({ code: "FORBIDDEN" })
          yield* say(a, dmId, "after c left")

          // Anyone leaves; the owner leaving hands the group to whoever has been in it longest.
          yield* a.client.call(Dms.addDmRecipient, { params: { dm_id: dmId, user_id: d.user_id } })
          yield* a.client.call(Dms.removeDmRecipient, { params: { dm_id: dmId, user_id: a.user_id } })
          yield* nextDispatch(gateways.d, isAbout("DM_RECIPIENT_REMOVE", a.user_id))
          const handover = yield* nextDispatch(gateways.d, (x) => x.t === "DM_UPDATE" && x.d.dm_id === dmId)
          expect(handover.d.owner_id).toBe(b.user_id)
          expect((yield* d.client.call(Dms.getDm, { params: { dm_id: dmId } })).participant_ids).toEqual(users(b, d))
          yield* d.client.call(Dms.removeDmRecipient, { params: { dm_id: dmId, user_id: d.user_id } })
          yield* nextDispatch(gateways.b, isAbout("DM_RECIPIENT_REMOVE", d.user_id))

          const cSaw = yield* dispatchesWithin(gateways.c)
          expect(cSaw.filter((x) => x.d?.dm_id === dmId)).toEqual([])

          // A 1:1 DM takes no one else and cannot be left (it is closed instead).
          const direct = yield* open(a, b)
          expect(yield* failure(a.client.call(Dms.addDmRecipient, { params: { dm_id: direct.dm_id, user_id: c.user_id } })))
            .toEqual({ code: "SPACE_TYPE_MISMATCH" })
          expect(yield* failure(a.client.call(Dms.removeDmRecipient, { params: { dm_id: direct.dm_id, user_id: a.user_id } })))
            .toEqual({ code: "SPACE_TYPE_MISMATCH" })
        }))

      it.scoped("messages: sent and stored exactly as sent, nonce retries, history, edit and delete by the author, reactions", () =>
        Effect.gen(function* () {
          const [a, b] = yield* Effect.all([newUser("ma"), newUser("mb")])
          const dm = yield* open(a, b)
          const bGateway = yield* gatewayFor(b.token)
          yield* nextDispatch(bGateway, (x) => x.t === "READY")

          // An opaque body: whatever the client sent, byte for byte.
          const ciphertext = "  AAECAwQ=\n\u00e9\u{1F600}  trailing  "
          const sent = yield* say(a, dm.dm_id, ciphertext, { nonce: "n-1" })
          expect(yield* storedBody(sent.msg_id)).toBe(ciphertext)
          const created = yield* nextDispatch(bGateway, (x) => x.t === "MESSAGE_CREATE" && x.d.dm_id === dm.dm_id)
          expect(created.d).toMatchObject({ msg_id: sent.msg_id, author_id: a.user_id, body: ciphertext, reply_to: null })
          expect(created.d.feed_id).toBeUndefined()

          // The same nonce again is the same message; in another DM it is refused.
          expect(yield* say(a, dm.dm_id, "other text", { nonce: "n-1" })).toEqual(sent)
          expect(yield* withSuiteDatabase(countRows("dm_messages", (sql) => sql`dm_id = ${dm.dm_id}`))).toBe(1)
          const group = yield* openGroup(a, [b])
          expect(yield* failure(say(a, group.dm_id, "x", { nonce: "n-1" }))).toEqual({ code: "INVALID_BODY" })

          const reply = yield* say(b, dm.dm_id, "re", { reply_to: sent.msg_id })
          expect(yield* failure(say(b, group.dm_id, "re", { reply_to: sent.msg_id }))).toEqual({ code: "MESSAGE_NOT_FOUND" })
          expect(yield* failure(say(a, dm.dm_id, ""))).toEqual({ code: "EMPTY_MESSAGE" })
          expect(yield* failure(say(a, dm.dm_id, "x".repeat(ServerApi.DEFAULT_LIMITS.max_dm_message_bytes + 1)))).toEqual({ code: "MESSAGE_TOO_LARGE" })
          // Longer than max_message_length characters is fine: the limit of ciphertext is in bytes.
          yield* say(a, dm.dm_id, "y".repeat(ServerApi.DEFAULT_LIMITS.max_message_length + 1))

          // History: newest first, before/after/limit as for feeds.
          const all = yield* history(b, dm.dm_id)
          expect(all.map((m) => m.msg_id).slice(1)).toEqual([reply.msg_id, sent.msg_id])
          expect(all[1]).toMatchObject({ reply_to: sent.msg_id, dm_id: dm.dm_id, edit_timestamp: null, reactions: [] })
          expect((yield* history(b, dm.dm_id, { limit: 1 })).map((m) => m.msg_id)).toEqual([all[0]!.msg_id])
          expect((yield* history(b, dm.dm_id, { before: reply.msg_id })).map((m) => m.msg_id)).toEqual([sent.msg_id])
          expect((yield* history(b, dm.dm_id, { after: sent.msg_id, limit: 1 })).map((m) => m.msg_id)).toEqual([reply.msg_id])

          // Edit and delete: the author only.
          expect(yield* failure(b.client.call(Dms.editDmMessage, { params: { dm_id: dm.dm_id, msg_id: sent.msg_id }, body: { body: "hack" } })))
            .toEqual({ code: "FORBIDDEN" })
          const edited = yield* a.client.call(Dms.editDmMessage, { params: { dm_id: dm.dm_id, msg_id: sent.msg_id }, body: { body: "v2 " } })
          expect(edited.msg_id).toBe(sent.msg_id)
          expect(yield* storedBody(sent.msg_id)).toBe("v2 ")
          const update = yield* nextDispatch(bGateway, (x) => x.t === "MESSAGE_UPDATE" && x.d.msg_id === sent.msg_id)
          expect(update.d).toMatchObject({ dm_id: dm.dm_id, body: "v2 " })

          // Reactions: idempotent, grouped per emoji, announced.
          const react = (who: Person, emoji: string) =>
            who.client.call(Dms.addDmReaction, { params: { dm_id: dm.dm_id, msg_id: sent.msg_id, emoji } })
          yield* react(a, "👍")
          yield* react(b, "👍")
          yield* react(b, "👍")
          yield* react(b, "🎉")
          yield* nextDispatch(bGateway, (x) => x.t === "MESSAGE_REACTION_ADD" && x.d.dm_id === dm.dm_id && x.d.emoji === "🎉")
          const withReactions = (yield* history(a, dm.dm_id)).find((m) => m.msg_id === sent.msg_id)!
          expect(withReactions.reactions).toEqual([
            { emoji: "👍", count: 2, user_ids: users(a, b) },
            { emoji: "🎉", count: 1, user_ids: users(b) }
          ])
          yield* b.client.call(Dms.removeDmReaction, { params: { dm_id: dm.dm_id, msg_id: sent.msg_id, emoji: "👍" } })
          const removed = yield* nextDispatch(bGateway, (x) => x.t === "MESSAGE_REACTION_REMOVE" && x.d.dm_id === dm.dm_id)
          expect(removed.d).toMatchObject({ user_id: b.user_id, emoji: "👍" })
          expect(yield* failure(react(a, "nope:1"))).toEqual({ code: "EMOJI_NOT_FOUND" })
          expect(yield* failure(a.client.call(Dms.addDmReaction, { params: { dm_id: dm.dm_id, msg_id: 1n as Snowflake, emoji: "👍" } })))
            .toEqual({ code: "MESSAGE_NOT_FOUND" })

          expect(yield* failure(b.client.call(Dms.deleteDmMessage, { params: { dm_id: dm.dm_id, msg_id: sent.msg_id } }))).toEqual({ code: "FORBIDDEN" })
          yield* a.client.call(Dms.deleteDmMessage, { params: { dm_id: dm.dm_id, msg_id: sent.msg_id } })
          yield* nextDispatch(bGateway, (x) => x.t === "MESSAGE_DELETE" && x.d.msg_id === sent.msg_id && x.d.dm_id === dm.dm_id)
          expect((yield* history(a, dm.dm_id)).map((m) => m.msg_id)).not.toContain(sent.msg_id)
          expect(yield* withSuiteDatabase(countRows("dm_reactions", (sql) => sql`message_id = ${sent.msg_id.toString()}`))).toBe(0)
          // DM messages are not feed messages: nothing of them is in `messages`.
          expect(yield* withSuiteDatabase(countRows("messages", (sql) => sql`body = ${"v2 "}`))).toBe(0)
        }))

      it.effect("concurrent sends to one DM get strictly increasing ids in one order", () =>
        Effect.gen(function* () {
          const [a, b] = yield* Effect.all([newUser("oa"), newUser("ob")])
          const dm = yield* open(a, b)
          const sent = yield* Effect.all(
            Array.from({ length: 30 }, (_, i) => say(i % 2 === 0 ? a : b, dm.dm_id, `m${i}`)),
            { concurrency: "unbounded" }
          )
          const page = yield* history(a, dm.dm_id, { limit: 100 })
          expect(page).toHaveLength(30)
          const ids = page.map((m) => m.msg_id)
          for (let i = 1; i < ids.length; i++) expect(ids[i - 1]! > ids[i]!).toBe(true)
          expect(new Set(ids)).toEqual(new Set(sent.map((s) => s.msg_id)))
          // The log announced them in the same order.
          const logged = (yield* withSuiteDatabase(eventsOfType("MESSAGE_CREATE")))
            .filter((e) => e.payload.dm_id === dm.dm_id)
            .map((e) => BigInt(e.payload.msg_id))
          expect(logged).toEqual([...ids].reverse())
        }))

      it.scoped("a read receipt reaches the other participants only, and only when it moves forward", () =>
        Effect.gen(function* () {
          const [a, b, c, stranger] = yield* Effect.all([newUser("ra"), newUser("rb"), newUser("rc"), newUser("rs")])
          const group = yield* openGroup(a, [b, c])
          const first = yield* say(b, group.dm_id, "one")
          const second = yield* say(b, group.dm_id, "two")
          const gateways = yield* Effect.all([gatewayFor(a.token), gatewayFor(b.token), gatewayFor(c.token), gatewayFor(stranger.token)])
          for (const g of gateways) yield* nextDispatch(g, (x) => x.t === "READY")
          const [aGateway, bGateway, cGateway, strangerGateway] = gateways

          yield* a.client.call(Dms.markDmRead, { params: { dm_id: group.dm_id }, body: { up_to_msg_id: second.msg_id } })
          for (const g of [bGateway, cGateway]) {
            const notice = yield* nextDispatch(g, (x) => x.t === "DM_READ_NOTIFY" && x.d.dm_id === group.dm_id)
            expect(notice.d).toEqual({ dm_id: group.dm_id, user_id: a.user_id, up_to_msg_id: second.msg_id })
          }
          // Going back changes nothing and tells nobody.
          yield* a.client.call(Dms.markDmRead, { params: { dm_id: group.dm_id }, body: { up_to_msg_id: first.msg_id } })
          const stored = yield* withSuiteDatabase((sql) =>
            sql<{ id: string }>`SELECT CAST(last_read_msg_id AS TEXT) AS id FROM dm_recipients WHERE dm_id = ${group.dm_id} AND user_id = ${a.user_id}`)
          expect(stored[0]!.id).toBe(second.msg_id.toString())
          expect(yield* failure(a.client.call(Dms.markDmRead, { params: { dm_id: group.dm_id }, body: { up_to_msg_id: 1n as Snowflake } })))
            .toEqual({ code: "MESSAGE_NOT_FOUND" })

          const aSaw = yield* dispatchesWithin(aGateway!)
          const bLater = yield* dispatchesWithin(bGateway!)
          const strangerSaw = yield* dispatchesWithin(strangerGateway!)
          expect(aSaw.filter((x) => x.t === "DM_READ_NOTIFY")).toEqual([])
          expect(bLater.filter((x) => x.t === "DM_READ_NOTIFY")).toEqual([])
          expect(strangerSaw.filter((x) => x.t === "DM_READ_NOTIFY")).toEqual([])
        }))

      it.scoped("typing in a DM: TYPING_START with dm_id to the other participants, from participants only", () =>
        Effect.gen(function* () {
          const [a, b, stranger] = yield* Effect.all([newUser("ta"), newUser("tb"), newUser("ts")])
          const dm = yield* open(a, b)
          const gateways = yield* Effect.all([gatewayFor(a.token), gatewayFor(b.token), gatewayFor(stranger.token)])
          for (const g of gateways) yield* nextDispatch(g, (x) => x.t === "READY")
          const [aGateway, bGateway, strangerGateway] = gateways

          yield* strangerGateway!.send(Op.TYPING, { dm_id: dm.dm_id })
          yield* aGateway!.send(Op.TYPING, { dm_id: dm.dm_id })
          const typing = yield* nextDispatch(bGateway!, (x) => x.t === "TYPING_START" && x.d.dm_id === dm.dm_id)
          expect(typing.d).toMatchObject({ user_id: a.user_id, dm_id: dm.dm_id })
          expect(typing.d.feed_id).toBeUndefined()
          const bRest = yield* dispatchesWithin(bGateway!)
          expect(bRest.filter((x) => x.t === "TYPING_START" && x.d.user_id === stranger.user_id)).toEqual([])
          const aSaw = yield* dispatchesWithin(aGateway!)
          expect(aSaw.filter((x) => x.t === "TYPING_START")).toEqual([])
          const strangerSaw = yield* dispatchesWithin(strangerGateway!)
          expect(strangerSaw.filter((x) => x.t === "TYPING_START")).toEqual([])
        }))

      it.scoped("a non-participant gets 403 on every DM endpoint and never receives a DM event", () =>
        Effect.gen(function* () {
          const [a, b, stranger] = yield* Effect.all([newUser("na"), newUser("nb"), newUser("ns")])
          const strangerGateway = yield* gatewayFor(stranger.token)
          yield* nextDispatch(strangerGateway, (x) => x.t === "READY")

          const group = yield* openGroup(a, [b], "private")
          const msg = yield* say(a, group.dm_id, "secret")
          yield* a.client.call(Dms.addDmReaction, { params: { dm_id: group.dm_id, msg_id: msg.msg_id, emoji: "👍" } })

          // Valid requests, so each reaches the participant check; a DM that does not exist answers the same.
          const bodies: Record<string, unknown> = {
            updateDm: { name: "mine now" },
            markDmRead: { up_to_msg_id: msg.msg_id },
            sendDmMessage: { body: "hi" },
            editDmMessage: { body: "hacked" }
          }
          const perDm = Object.values(Dms).filter((e): e is typeof Dms.getDm =>
            typeof e === "object" && e !== null && "path" in e && (e as { path: string }).path.includes(":dm_id"))
          expect(perDm.length).toBe(12)
          for (const dmId of [group.dm_id, 4_000_000_000]) {
            for (const endpoint of perDm) {
              const params = { dm_id: dmId, msg_id: msg.msg_id, user_id: stranger.user_id, emoji: "👍" }
              const { status, body } = yield* rawEndpointRequest(endpoint, params, { token: stranger.token, body: bodies[endpoint.name] })
              expect({ endpoint: endpoint.name, status, code: body?.error?.code })
                .toEqual({ endpoint: endpoint.name, status: 403, code: "FORBIDDEN" })
            }
          }
          expect(yield* listed(stranger)).not.toContain(group.dm_id)

          // Everything the participants do from here on stays between them.
          yield* say(b, group.dm_id, "reply")
          yield* a.client.call(Dms.updateDm, { params: { dm_id: group.dm_id }, body: { name: "renamed" } })
          yield* a.client.call(Dms.markDmRead, { params: { dm_id: group.dm_id }, body: { up_to_msg_id: msg.msg_id } })
          yield* a.client.call(Dms.editDmMessage, { params: { dm_id: group.dm_id, msg_id: msg.msg_id }, body: { body: "edited" } })
          yield* a.client.call(Dms.deleteDmMessage, { params: { dm_id: group.dm_id, msg_id: msg.msg_id } })
          const direct = yield* open(a, b)
          yield* say(a, direct.dm_id, "just us")
          const bGateway = yield* gatewayFor(b.token)
          yield* say(a, direct.dm_id, "marker")
          yield* nextDispatch(bGateway, (x) => x.t === "MESSAGE_CREATE" && x.d.body === "marker")

          const saw = yield* dispatchesWithin(strangerGateway)
          expect(saw.filter((x) => x.d?.dm_id !== undefined || x.t.startsWith("DM_"))).toEqual([])
          // Nor is any of it the stranger's to find in the log.
          const logged = yield* withSuiteDatabase(eventsOfType("MESSAGE_CREATE"))
          for (const e of logged.filter((x) => x.payload.dm_id === group.dm_id)) {
            expect(e.audience).toEqual({ _tag: "users", user_ids: expect.not.arrayContaining([stranger.user_id]) })
          }
        }))
    })
  })
}
