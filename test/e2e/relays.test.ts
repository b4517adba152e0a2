// The E2EE relays over real gateway connections (issue 6, part C): op 9 MLS_RELAY delivers a Welcome to
// the invited users alone and a Commit or Proposal to the DM's participants alone, and refuses a
// message naming anyone outside the DM or sent by a non-participant; device pairing (POST
// /keys/devices/pair → DEVICE_PAIR_PROMPT, approve or deny → DEVICE_PAIR_RESULT) and op 10 CPACE_RELAY
// between the two sessions of the pairing only, each in its own role, never for another user's
// pair_id; pairings expire (DEVICE_PAIR_EXPIRED, then 410: CPACE_EXPIRED for a CPace pairing). Payloads are opaque bytes: the SDK's tests
// run real MLS and CPace over the same frames. On SQLite and (when configured) PostgreSQL.
import { describe, expect, layer } from "@effect/vitest"
import { Deferred, Effect } from "effect"
import type { GatewayClient } from "../../src/client/GatewayClient.js"
import * as Dms from "../../src/protocol/api/dms.js"
import * as Keys from "../../src/protocol/api/keys.js"
import * as Relationships from "../../src/protocol/api/relationships.js"
import * as ServerApi from "../../src/protocol/api/server.js"
import { CloseCode, Op } from "../../src/protocol/gateway.js"
import { backends } from "../support/backends.js"
import { failure } from "../support/expect.js"
import { dispatchesWithin, nextDispatch, readyGatewayFor as connected } from "../support/gateway.js"
import { rawEndpointRequest } from "../support/http.js"
import { newUser, owner, TestServer, TestServerLive } from "../support/server.js"

type Person = Effect.Effect.Success<ReturnType<typeof newUser>>

const blob = (text: string) => Buffer.from(text).toString("base64")


/** The E2EE dispatches (MLS_*, CPACE_*, DEVICE_PAIR_*) a session received within a moment. */
const e2eeWithin = (gateway: GatewayClient) =>
  Effect.map(dispatchesWithin(gateway), (all) => all.filter((d) => /^(MLS_|CPACE_|DEVICE_PAIR_)/.test(d.t)))

/** Another session of the same user: a second device logging in. */
const secondSession = (who: Person) =>
  Effect.gen(function* () {
    const { client } = yield* TestServer
    const login = yield* client.login({ username: who.username, password: who.password })
    return { token: login.token, client: client.withToken(login.token) }
  })

const mls = (gateway: GatewayClient, d: Record<string, unknown>) => gateway.send(Op.MLS_RELAY, d)
const cpace = (gateway: GatewayClient, d: Record<string, unknown>) => gateway.send(Op.CPACE_RELAY, d)

for (const backend of backends) {
  describe(`E2EE relays on ${backend.name}`, () => {
    layer(TestServerLive(backend), { excludeTestServices: true })((it) => {
      it.scoped("op 9: a Welcome reaches the invited users, a Commit or Proposal the DM's participants, nobody else", () =>
        Effect.gen(function* () {
          yield* owner
          const alice = yield* newUser("alice")
          const bob = yield* newUser("bob")
          const carol = yield* newUser("carol")
          const dave = yield* newUser("dave")
          const dm = yield* alice.client.call(Dms.openDm, { body: { recipient_ids: [bob.user_id, carol.user_id] } })
          // Dave shares another DM with Alice: being her contact is not being in this DM.
          yield* alice.client.call(Dms.openDm, { body: { recipient_id: dave.user_id } })
          const [a, b, c, d] = yield* Effect.all([alice, bob, carol, dave].map((p) => connected(p.token)))

          yield* mls(a!, { type: "welcome", dm_id: dm.dm_id, recipients: [bob.user_id], data: blob("welcome for bob") })
          const welcome = yield* nextDispatch(b!, (x) => x.t === "MLS_WELCOME")
          expect(welcome.d).toEqual({ dm_id: dm.dm_id, sender_id: alice.user_id, data: blob("welcome for bob") })
          // Bob alone: not the sender, not Carol who is in the DM, not Dave.
          for (const g of [a!, c!, d!]) expect(yield* e2eeWithin(g)).toEqual([])

          yield* mls(a!, { type: "commit", dm_id: dm.dm_id, data: blob("commit 1") })
          expect(yield* e2eeWithin(d!)).toEqual([])
          // Every participant, the sender's own sessions too (they share its leaf key).
          for (const g of [a!, b!, c!]) {
            const commit = yield* nextDispatch(g, (x) => x.t === "MLS_COMMIT")
            expect(commit.d).toEqual({ dm_id: dm.dm_id, sender_id: alice.user_id, data: blob("commit 1") })
          }
          yield* mls(b!, { type: "proposal", dm_id: dm.dm_id, recipients: [carol.user_id], data: blob("proposal") })
          const proposal = yield* nextDispatch(c!, (x) => x.t === "MLS_PROPOSAL")
          expect(proposal.d).toMatchObject({ sender_id: bob.user_id, data: blob("proposal") })
          // The proposal went to Carol alone; Dave got nothing at all.
          for (const g of [a!, b!, c!, d!]) expect(yield* e2eeWithin(g)).toEqual([])
        }))

      it.scoped("op 9 refuses a message naming someone outside the DM, from a non-participant, or too large", () =>
        Effect.gen(function* () {
          yield* owner // the server's first account, who changes its limits
          const erin = yield* newUser("erin")
          const frank = yield* newUser("frank")
          const mallory = yield* newUser("mallory")
          const dm = yield* erin.client.call(Dms.openDm, { body: { recipient_id: frank.user_id } })
          const [e, f, m] = yield* Effect.all([erin, frank, mallory].map((p) => connected(p.token)))

          // A Welcome naming Mallory, who is not in the DM: refused whole (Frank does not get it either).
          yield* mls(e!, { type: "welcome", dm_id: dm.dm_id, recipients: [frank.user_id, mallory.user_id], data: blob("w") })
          // Mallory relaying into a DM she is not in, and to a DM that does not exist.
          yield* mls(m!, { type: "commit", dm_id: dm.dm_id, data: blob("forged commit") })
          yield* mls(m!, { type: "welcome", dm_id: dm.dm_id, recipients: [frank.user_id], data: blob("forged welcome") })
          yield* mls(m!, { type: "commit", dm_id: 999_999, data: blob("nowhere") })
          // Above max_mls_message_bytes.
          yield* (yield* owner).client.call(ServerApi.updateLimits, { body: { max_mls_message_bytes: 1024 } })
          yield* mls(e!, { type: "commit", dm_id: dm.dm_id, data: Buffer.alloc(1025).toString("base64") })
          for (const g of [e!, f!, m!]) expect(yield* e2eeWithin(g)).toEqual([])

          // The senders' connections are still open, and exactly 1024 bytes go through.
          yield* mls(e!, { type: "commit", dm_id: dm.dm_id, data: Buffer.alloc(1024).toString("base64") })
          expect((yield* nextDispatch(f!, (x) => x.t === "MLS_COMMIT")).d).toMatchObject({ sender_id: erin.user_id })
          yield* nextDispatch(e!, (x) => x.t === "MLS_COMMIT") // the sender's own copy
          yield* (yield* owner).client.call(ServerApi.updateLimits, { body: { max_mls_message_bytes: ServerApi.DEFAULT_LIMITS.max_mls_message_bytes } })
          // A block freezes their 1:1 DM: nothing more is relayed in it, either way.
          yield* frank.client.call(Relationships.blockUser, { params: { user_id: erin.user_id } })
          yield* mls(e!, { type: "commit", dm_id: dm.dm_id, data: blob("after the block") })
          yield* mls(f!, { type: "proposal", dm_id: dm.dm_id, data: blob("after the block") })
          for (const g of [e!, f!]) expect(yield* e2eeWithin(g)).toEqual([])

          // A frame that names no DM, or a Welcome without recipients, does not decode: 4002.
          yield* mls(m!, { type: "welcome", dm_id: dm.dm_id, data: blob("to whom?") })
          expect((yield* Deferred.await(m!.ended)).code).toBe(CloseCode.DECODE_ERROR)
          yield* mls(e!, { type: "commit", data: blob("which DM?") })
          expect((yield* Deferred.await(e!.ended)).code).toBe(CloseCode.DECODE_ERROR)
        }))

      it.scoped("pairing: prompt to the user's sessions, approval by another session, CPace between the two in their roles", () =>
        Effect.gen(function* () {
          const gina = yield* newUser("gina")
          const hank = yield* newUser("hank")
          const phone = yield* secondSession(gina)
          const tablet = yield* secondSession(gina)
          const laptopGw = yield* connected(gina.token)
          const phoneGw = yield* connected(phone.token)
          const tabletGw = yield* connected(tablet.token)
          const hankGw = yield* connected(hank.token)

          const started = yield* rawEndpointRequest(Keys.startPairing, {}, { token: phone.token, body: { device_name: "Gina's Phone", method: "cpace" } })
          expect(started.status).toBe(201)
          const pairId = started.body.pair_id as string
          expect(pairId).toMatch(/^pair_/)
          for (const g of [laptopGw, phoneGw, tabletGw]) {
            const prompt = yield* nextDispatch(g, (x) => x.t === "DEVICE_PAIR_PROMPT")
            expect(prompt.d).toEqual({
              pair_id: pairId,
              device_name: "Gina's Phone",
              ip: expect.stringMatching(/127\.0\.0\.1/),
              location: null,
              method: "cpace",
              temp_public_key: null,
              expires_at: started.body.expires_at
            })
          }

          // Nothing is relayed before the pairing is approved.
          yield* cpace(phoneGw, { type: "isi", pair_id: pairId, data: blob("isi too early") })
          // The asking device cannot approve itself; another user cannot see the pairing.
          expect(yield* failure(phone.client.call(Keys.respondPairing, { params: { pair_id: pairId }, body: { approved: true } }))).toEqual({ code: "FORBIDDEN" })
          expect(yield* failure(hank.client.call(Keys.respondPairing, { params: { pair_id: pairId }, body: { approved: true } }))).toEqual({ code: "DEVICE_PAIR_NOT_FOUND" })
          expect(yield* e2eeWithin(laptopGw)).toEqual([])

          yield* gina.client.call(Keys.respondPairing, { params: { pair_id: pairId }, body: { approved: true } })
          for (const g of [laptopGw, phoneGw, tabletGw]) {
            expect((yield* nextDispatch(g, (x) => x.t === "DEVICE_PAIR_RESULT")).d).toEqual({ pair_id: pairId, approved: true })
          }
          // Answered once.
          expect(yield* failure(tablet.client.call(Keys.respondPairing, { params: { pair_id: pairId }, body: { approved: false } }))).toEqual({ code: "FORBIDDEN" })

          yield* cpace(phoneGw, { type: "isi", pair_id: pairId, data: blob("isi") })
          expect((yield* nextDispatch(laptopGw, (x) => x.t === "CPACE_ISI")).d).toEqual({ pair_id: pairId, side: "initiator", data: blob("isi") })
          yield* cpace(laptopGw, { type: "rsi", pair_id: pairId, data: blob("rsi") })
          expect((yield* nextDispatch(phoneGw, (x) => x.t === "CPACE_RSI")).d).toEqual({ pair_id: pairId, side: "responder", data: blob("rsi") })

          // Out of role, from a bystander session, or from another user for this pair_id: refused.
          yield* cpace(phoneGw, { type: "rsi", pair_id: pairId, data: blob("initiator posing as responder") })
          yield* cpace(phoneGw, { type: "leaf_transfer", pair_id: pairId, data: blob("x"), nonce: blob("n") })
          yield* cpace(tabletGw, { type: "confirm", pair_id: pairId, data: blob("bystander") })
          yield* cpace(hankGw, { type: "isi", pair_id: pairId, data: blob("another user's pair_id") })
          yield* cpace(hankGw, { type: "confirm", pair_id: "pair_doesnotexistatall0", data: blob("unknown") })
          // (Gina's sessions all heard the ISI and RSI; nothing more arrived.)
          for (const g of [laptopGw, phoneGw, tabletGw]) {
            expect((yield* e2eeWithin(g)).map((x) => x.t).filter((t) => t !== "CPACE_ISI" && t !== "CPACE_RSI")).toEqual([])
          }
          expect(yield* e2eeWithin(hankGw)).toEqual([])

          yield* cpace(phoneGw, { type: "confirm", pair_id: pairId, data: blob("confirm i") })
          yield* cpace(laptopGw, { type: "confirm", pair_id: pairId, data: blob("confirm r") })
          expect((yield* nextDispatch(laptopGw, (x) => x.t === "CPACE_CONFIRM" && x.d.side === "initiator")).d.data).toBe(blob("confirm i"))
          expect((yield* nextDispatch(phoneGw, (x) => x.t === "CPACE_CONFIRM" && x.d.side === "responder")).d.data).toBe(blob("confirm r"))

          yield* cpace(laptopGw, { type: "leaf_transfer", pair_id: pairId, data: blob("sealed leaf key"), nonce: blob("nonce12bytes") })
          expect((yield* nextDispatch(phoneGw, (x) => x.t === "CPACE_LEAF_TRANSFER")).d).toEqual({
            pair_id: pairId,
            side: "responder",
            data: blob("sealed leaf key"),
            nonce: blob("nonce12bytes")
          })
          // The transfer finished the pairing: its pair_id relays nothing more.
          yield* Effect.all([laptopGw, phoneGw, tabletGw].map(dispatchesWithin))
          yield* cpace(phoneGw, { type: "confirm", pair_id: pairId, data: blob("after the end") })
          expect(yield* e2eeWithin(laptopGw)).toEqual([])
        }))

      it.scoped("a denied pairing relays nothing and stays denied; the QR method carries the new device's key", () =>
        Effect.gen(function* () {
          const ivy = yield* newUser("ivy")
          const phone = yield* secondSession(ivy)
          const laptopGw = yield* connected(ivy.token)
          const phoneGw = yield* connected(phone.token)

          const { pair_id } = yield* phone.client.call(Keys.startPairing, { body: { device_name: "Unknown phone" } })
          yield* ivy.client.call(Keys.respondPairing, { params: { pair_id }, body: { approved: false } })
          expect((yield* nextDispatch(phoneGw, (x) => x.t === "DEVICE_PAIR_RESULT")).d).toEqual({ pair_id, approved: false })
          yield* cpace(phoneGw, { type: "isi", pair_id, data: blob("isi") })
          expect((yield* e2eeWithin(laptopGw)).map((x) => x.t)).toEqual(["DEVICE_PAIR_PROMPT", "DEVICE_PAIR_RESULT"])
          expect(yield* failure(ivy.client.call(Keys.respondPairing, { params: { pair_id }, body: { approved: true } }))).toEqual({ code: "DEVICE_PAIR_DENIED" })

          // QR: the prompt carries the temporary key; without one the request is refused.
          expect(yield* failure(phone.client.call(Keys.startPairing, { body: { device_name: "Phone", method: "qr" } }))).toEqual({ code: "INVALID_BODY" })
          const qr = yield* phone.client.call(Keys.startPairing, { body: { device_name: "Phone", method: "qr", temp_public_key: blob("temp key") } })
          const prompt = yield* nextDispatch(laptopGw, (x) => x.t === "DEVICE_PAIR_PROMPT" && x.d.pair_id === qr.pair_id)
          expect(prompt.d).toMatchObject({ method: "qr", temp_public_key: blob("temp key") })
          yield* ivy.client.call(Keys.respondPairing, { params: { pair_id: qr.pair_id }, body: { approved: true } })
          yield* cpace(laptopGw, { type: "leaf_transfer", pair_id: qr.pair_id, data: blob("leaf sealed to temp key"), nonce: blob("n") })
          expect((yield* nextDispatch(phoneGw, (x) => x.t === "CPACE_LEAF_TRANSFER")).d).toMatchObject({ pair_id: qr.pair_id, data: blob("leaf sealed to temp key") })
        }))
    })

    // A short pairing time, so expiry can be watched.
    layer(TestServerLive(backend, { keys: { pairTtl: "1 second" } }), { excludeTestServices: true })((it) => {
      it.scoped("a pairing expires after keys.pairTtl: DEVICE_PAIR_EXPIRED to the user's sessions, then 410 (CPACE_EXPIRED for CPace) and no relays", () =>
        Effect.gen(function* () {
          const jack = yield* newUser("jack")
          const phone = yield* secondSession(jack)
          const laptopGw = yield* connected(jack.token)
          const phoneGw = yield* connected(phone.token)

          // Never answered (the QR method).
          const waiting = yield* phone.client.call(Keys.startPairing, { body: { device_name: "Phone", method: "qr", temp_public_key: blob("temp key") } })
          // Approved, but the exchange does not finish in time.
          const slow = yield* phone.client.call(Keys.startPairing, { body: { device_name: "Phone" } })
          yield* jack.client.call(Keys.respondPairing, { params: { pair_id: slow.pair_id }, body: { approved: true } })
          yield* cpace(phoneGw, { type: "isi", pair_id: slow.pair_id, data: blob("isi in time") })
          yield* nextDispatch(laptopGw, (x) => x.t === "CPACE_ISI")

          for (const g of [laptopGw, phoneGw]) {
            const expired = new Set<string>()
            while (expired.size < 2) {
              const e = yield* nextDispatch(g, (x) => x.t === "DEVICE_PAIR_EXPIRED", "4 seconds")
              expired.add(e.d.pair_id as string)
            }
            expect(expired).toEqual(new Set([waiting.pair_id, slow.pair_id]))
          }
          const late = yield* rawEndpointRequest(Keys.respondPairing, { pair_id: waiting.pair_id }, { token: jack.token, body: { approved: true } })
          expect({ status: late.status, code: late.body.error.code }).toEqual({ status: 410, code: "DEVICE_PAIR_EXPIRED" })
          // a CPace pairing names its own expiry (seed 002 §10)
          const lateCpace = yield* rawEndpointRequest(Keys.respondPairing, { pair_id: slow.pair_id }, { token: jack.token, body: { approved: true } })
          expect({ status: lateCpace.status, code: lateCpace.body.error.code }).toEqual({ status: 410, code: "CPACE_EXPIRED" })
          yield* cpace(laptopGw, { type: "rsi", pair_id: slow.pair_id, data: blob("rsi too late") })
          // Each expiry was announced once.
          expect(yield* e2eeWithin(phoneGw)).toEqual([])
        }))
    })
  })
}
