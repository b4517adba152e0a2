// End-to-end encryption through a real server (issue 6 acceptance 1-3, seed 002 §8): every person has
// their own SDK device (REST client + gateway session + ts-mls state); the server only stores key
// packages, relays op 9/10 and keeps ciphertext.
//   1. Alice and Bob build an MLS group through the server and read each other's messages; dumped
//      afterwards, the database holds none of the plaintexts (neither as text nor in base64).
//   2. A group DM of three: adding and removing a member advance the epoch; the removed member cannot
//      read what follows.
//   3. Alice's second device pairs by CPace with the 6-digit code, receives the leaf key and reads the
//      DM; a wrong code fails on both devices and no leaf key is ever sent.
// And recovery: the key backup opens on a new device with the 12-word phrase, and with it only; and
// key reset: contacts forget the old group, the safety number changes, a new group works.
import { SqlClient } from "@effect/sql"
import { describe, expect, layer } from "@effect/vitest"
import { Deferred, Effect, Either, Fiber, Queue, Schedule } from "effect"
import * as Fs from "node:fs"
import * as Path from "node:path"
import { makeE2eeDevice } from "../../src/client/e2ee/E2eeDevice.js"
import * as Mls from "../../src/client/e2ee/mls.js"
import * as Recovery from "../../src/client/e2ee/recovery.js"
import { approvePairing, pairAsNewDevice } from "../../src/client/e2ee/pairing.js"
import { safetyNumber } from "../../src/client/e2ee/safetyNumber.js"
import * as Dms from "../../src/protocol/api/dms.js"
import * as Keys from "../../src/protocol/api/keys.js"
import type { DmId, UserId } from "../../src/protocol/ids.js"
import { type Backend, backends } from "../support/backends.js"
import { eventsOfType, withSuiteDatabase } from "../support/db.js"
import { gatewayFor } from "../support/gateway.js"
import { newUser, TestServer, TestServerLive } from "../support/server.js"

type Person = Effect.Effect.Success<ReturnType<typeof newUser>>

/** A device of `person` on a session of its own: gateway connected, SDK following it. */
const deviceOf = (person: { readonly user_id: number; readonly token: string }, deviceId: string) =>
  Effect.gen(function* () {
    const { client } = yield* TestServer
    const gateway = yield* gatewayFor(person.token)
    const device = yield* makeE2eeDevice({
      client: client.withToken(person.token),
      gateway,
      userId: person.user_id as UserId,
      deviceId
    })
    return { device, gateway }
  })

/** A person's first device: it makes the leaf key and publishes key packages. */
const firstDevice = (person: Person) =>
  Effect.gen(function* () {
    const { device, gateway } = yield* deviceOf(person, `dev_${person.username}_1`)
    yield* device.generateLeaf
    yield* device.register(`${person.username}'s laptop`)
    return { ...person, device, gateway }
  })

/** Alice and Bob, each on a first device, with an MLS group for their 1:1 DM that both have joined. */
const encryptedDm = Effect.gen(function* () {
  const alice = yield* firstDevice(yield* newUser("alice"))
  const bob = yield* firstDevice(yield* newUser("bob"))
  const dm = yield* alice.client.call(Dms.openDm, { body: { recipient_id: bob.user_id as UserId } })
  yield* alice.device.startGroup(dm.dm_id, [bob.user_id as UserId])
  yield* bob.device.awaitGroup(dm.dm_id)
  return { alice, bob, dm }
})

const history = (client: Person["client"], dmId: DmId) =>
  Effect.map(client.call(Dms.getDmHistory, { params: { dm_id: dmId }, query: { limit: 100 } }), (r) =>
    [...r.messages].sort((a, b) => (a.msg_id < b.msg_id ? -1 : 1)))

/** Waits until the DM's history has `n` messages, oldest first. */
const historyOf = (client: Person["client"], dmId: DmId, n: number) =>
  history(client, dmId).pipe(
    Effect.filterOrFail((messages) => messages.length >= n, () => new Error(`fewer than ${n} messages`)),
    Effect.retry(Schedule.spaced("20 millis").pipe(Schedule.upTo("5 seconds"))),
    Effect.orDie
  )

// --- the database dump of acceptance 1 ---

/** Every cell of every table, as text (bytes as latin1 so any embedded plaintext shows). */
const dumpDatabase = (backend: Backend) =>
  withSuiteDatabase((sql: SqlClient.SqlClient) =>
    Effect.gen(function* () {
      const tables = backend.name === "sqlite"
        ? (yield* sql<{ name: string }>`SELECT name FROM sqlite_master WHERE type = 'table'`).map((t) => t.name)
        : (yield* sql<{ table_name: string }>`SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'`).map((t) => t.table_name)
      const cells: Array<string> = []
      for (const table of tables) {
        for (const row of yield* sql<Record<string, unknown>>`SELECT * FROM ${sql(table)}`) {
          for (const value of Object.values(row)) {
            cells.push(value instanceof Uint8Array ? Buffer.from(value).toString("latin1") : String(value))
          }
        }
      }
      return { tables, cells }
    }))

/** Whether `plain` is in `text` as it is, or inside any base64 run of it, at any alignment. */
const reveals = (text: string, plain: string) => {
  if (text.includes(plain)) return true
  const needle = Buffer.from(plain, "utf8")
  for (const run of text.match(/[A-Za-z0-9+/]{16,}={0,2}/g) ?? []) {
    for (let skip = 0; skip < 4; skip++) {
      if (Buffer.from(run.slice(skip), "base64").includes(needle)) return true
    }
  }
  return false
}

for (const backend of backends) {
  describe(`end-to-end encrypted DMs on ${backend.name}`, () => {
    layer(TestServerLive(backend), { excludeTestServices: true })((it) => {
      it.scoped("acceptance 1: Alice and Bob build an MLS group through the server, each reads the other, the database holds no plaintext", () =>
        Effect.gen(function* () {
          const { alice, bob, dm } = yield* encryptedDm
          expect(yield* bob.device.epoch(dm.dm_id)).toBe(yield* alice.device.epoch(dm.dm_id))

          const fromAlice = "Meet me at the old lighthouse at 9"
          const fromBob = "Bringing the blue umbrella, see you there"
          yield* alice.device.send(dm.dm_id, fromAlice)
          const [first] = yield* historyOf(bob.client, dm.dm_id, 1)
          expect(first!.body).not.toContain("lighthouse")
          expect(yield* bob.device.read(first!)).toBe(fromAlice)

          yield* bob.device.send(dm.dm_id, fromBob)
          const both = yield* historyOf(alice.client, dm.dm_id, 2)
          expect(yield* alice.device.read(both[1]!)).toBe(fromBob)
          // each also reads their own, from what they sent
          expect(yield* alice.device.read(both[0]!)).toBe(fromAlice)

          // The identity keys each sees in the group came through the server; the same safety number
          // on both sides shows it substituted none.
          const aliceKey = yield* alice.device.identityKey
          const bobKey = yield* bob.device.identityKey
          const seenByAlice = Mls.memberLeaves(yield* alice.device.awaitGroup(dm.dm_id)).map((m) => m.publicKey)
          const seenByBob = Mls.memberLeaves(yield* bob.device.awaitGroup(dm.dm_id)).map((m) => m.publicKey)
          expect(safetyNumber(seenByAlice[0]!, seenByAlice[1]!)).toEqual(safetyNumber(bobKey, aliceKey))
          expect(safetyNumber(seenByBob[1]!, seenByBob[0]!)).toEqual(safetyNumber(aliceKey, bobKey))

          const dump = yield* dumpDatabase(backend)
          expect(dump.tables).toEqual(expect.arrayContaining(["dm_messages", "event_log"]))
          const all = dump.cells.join("\n")
          // the ciphertext is there (the check looks in the right place)...
          expect(all).toContain(first!.body)
          // ...the plaintexts are not, in any form (and the check would see one in base64 at any offset)
          expect(reveals(`x${Buffer.from("ab" + fromAlice).toString("base64")}x`, fromAlice)).toBe(true)
          for (const plain of [fromAlice, fromBob]) expect(reveals(all, plain)).toBe(false)
          if (backend.name === "sqlite") {
            const { settings } = yield* TestServer
            const dir = settings.dataDir!
            for (const file of Fs.readdirSync(dir)) {
              const raw = Fs.statSync(Path.join(dir, file)).isFile() ? Fs.readFileSync(Path.join(dir, file)).toString("latin1") : ""
              for (const plain of [fromAlice, fromBob]) expect(reveals(raw, plain), `${file} holds a plaintext`).toBe(false)
            }
          }
        }))

      it.scoped("acceptance 2: a group DM of three; adding and removing advance the epoch, the removed member cannot read later messages", () =>
        Effect.gen(function* () {
          const alice = yield* firstDevice(yield* newUser("alice"))
          const bob = yield* firstDevice(yield* newUser("bob"))
          const carol = yield* firstDevice(yield* newUser("carol"))
          const dm = yield* alice.client.call(Dms.openDm, { body: { recipient_ids: [bob.user_id as UserId], name: "plans" } })
          const dmId = dm.dm_id

          yield* alice.device.startGroup(dmId, [bob.user_id as UserId])
          yield* bob.device.awaitGroup(dmId)
          const start = yield* alice.device.epoch(dmId)

          // Carol joins the DM, then the group: Bob applies the Commit, Carol the Welcome
          yield* alice.client.call(Dms.addDmRecipient, { params: { dm_id: dmId, user_id: carol.user_id as UserId } })
          yield* alice.device.addMembers(dmId, [carol.user_id as UserId])
          const afterAdd = yield* alice.device.epoch(dmId)
          expect(afterAdd).toBe(start + 1n)
          yield* bob.device.awaitGroup(dmId, (s) => Mls.epoch(s) === afterAdd)
          yield* carol.device.awaitGroup(dmId)
          expect(yield* carol.device.epoch(dmId)).toBe(afterAdd)

          yield* carol.device.send(dmId, "hello both, glad to be here")
          const [hello] = yield* historyOf(alice.client, dmId, 1)
          expect(yield* alice.device.read(hello!)).toBe("hello both, glad to be here")
          expect(yield* bob.device.read(hello!)).toBe("hello both, glad to be here")

          // Alice removes Carol from the group (she hears of it), then from the DM
          yield* alice.device.removeMembers(dmId, [carol.user_id as UserId])
          const afterRemove = yield* alice.device.epoch(dmId)
          expect(afterRemove).toBe(afterAdd + 1n)
          yield* bob.device.awaitGroup(dmId, (s) => Mls.epoch(s) === afterRemove)
          yield* carol.device.awaitGroup(dmId, (s) => !Mls.isMember(s))
          yield* alice.client.call(Dms.removeDmRecipient, { params: { dm_id: dmId, user_id: carol.user_id as UserId } })

          yield* alice.device.send(dmId, "now just the two of us")
          const later = (yield* historyOf(bob.client, dmId, 2))[1]!
          expect(yield* bob.device.read(later)).toBe("now just the two of us")
          // Carol may no longer fetch it, and with the ciphertext in hand her device cannot read it
          const refused = yield* Effect.flip(history(carol.client, dmId))
          expect(refused._tag).toBe("Forbidden")
          const unreadable = yield* Effect.flip(carol.device.read(later))
          expect(unreadable._tag).toBe("MlsFailure")
        }))

      it.scoped("acceptance 3: a second device pairs by CPace with the 6-digit code, receives the leaf key and reads the DM; a wrong code fails on both sides", () =>
        Effect.gen(function* () {
          const { client } = yield* TestServer
          const { alice, bob, dm } = yield* encryptedDm

          // The phone: a new login, a device with no key
          const phoneLogin = yield* client.login({ username: alice.username, password: alice.password })
          const phone = yield* deviceOf(phoneLogin, "dev_alice_phone")
          expect(phone.device.hasKeys()).toBe(false)

          const shown = yield* Deferred.make<string>()
          const approving = yield* approvePairing(alice.device, alice.gateway, {
            show: (code) => Deferred.succeed(shown, code),
            within: "20 seconds"
          }).pipe(Effect.fork)
          yield* pairAsNewDevice(phone.device, phone.gateway, {
            deviceName: "Alice's phone",
            enterCode: () => Deferred.await(shown),
            within: "20 seconds"
          })
          yield* Fiber.join(approving)
          expect(yield* Deferred.await(shown)).toMatch(/^\d{6}$/)
          expect(phone.device.hasKeys()).toBe(true)
          expect(Buffer.from(yield* phone.device.identityKey).equals(Buffer.from(yield* alice.device.identityKey))).toBe(true)
          const devices = yield* phone.device.client.call(Keys.listDevices)
          expect(devices.devices.map((d) => d.device_id)).toEqual(expect.arrayContaining([`dev_${alice.username}_1`, "dev_alice_phone"]))

          // Bob writes; the phone reads it, and so does the laptop
          yield* bob.device.send(dm.dm_id, "did the new phone arrive?")
          const [msg] = yield* historyOf(phone.device.client, dm.dm_id, 1)
          expect(yield* phone.device.read(msg!)).toBe("did the new phone arrive?")
          expect(yield* alice.device.read(msg!)).toBe("did the new phone arrive?")

          // A tablet whose user mistypes the code: both sides fail, nothing is sealed or sent
          const tabletLogin = yield* client.login({ username: alice.username, password: alice.password })
          const tablet = yield* deviceOf(tabletLogin, "dev_alice_tablet")
          const shownAgain = yield* Deferred.make<string>()
          const approvingAgain = yield* approvePairing(alice.device, alice.gateway, {
            show: (code) => Deferred.succeed(shownAgain, code),
            within: "20 seconds"
          }).pipe(Effect.either, Effect.fork)
          const tabletResult = yield* Effect.either(pairAsNewDevice(tablet.device, tablet.gateway, {
            deviceName: "Alice's tablet",
            enterCode: () => Effect.map(Deferred.await(shownAgain), (code) => String((Number(code) + 1) % 1_000_000).padStart(6, "0")),
            within: "20 seconds"
          }))
          const laptopResult = yield* Fiber.join(approvingAgain)
          expect(Either.isLeft(tabletResult) && tabletResult.left._tag).toBe("CPaceConfirmationFailed")
          expect(Either.isLeft(laptopResult) && laptopResult.left._tag).toBe("CPaceConfirmationFailed")
          expect(tablet.device.hasKeys()).toBe(false)
          // no leaf transfer was relayed for the failed pairing: only the phone's one exists
          const transfers = yield* withSuiteDatabase(eventsOfType("CPACE_LEAF_TRANSFER"))
          expect(transfers).toHaveLength(1)
          const tabletSaw = Array.from(yield* Queue.takeAll(tablet.device.dispatches)).map((d) => d.t)
          expect(tabletSaw).not.toContain("CPACE_LEAF_TRANSFER")
        }))

      it.scoped("recovery: the leaf key backed up under a 12-word phrase comes back on a new device with that phrase only", () =>
        Effect.gen(function* () {
          const { client } = yield* TestServer
          const { alice, bob, dm } = yield* encryptedDm

          const phrase = Recovery.generateRecoveryPhrase()
          yield* alice.device.backUp(phrase)
          const stored = yield* alice.client.call(Keys.getKeyBackup)
          expect(reveals(stored.encrypted_blob, phrase)).toBe(false)

          // every device lost: a new login, the phrase typed in
          const login = yield* client.login({ username: alice.username, password: alice.password })
          const fresh = yield* deviceOf(login, "dev_alice_new")
          const wrong = yield* Effect.flip(fresh.device.restore(Recovery.generateRecoveryPhrase()))
          expect(wrong._tag).toBe("SealedBoxUndecryptable")
          expect(fresh.device.hasKeys()).toBe(false)
          yield* fresh.device.restore(phrase)
          expect(Buffer.from(yield* fresh.device.identityKey).equals(Buffer.from(yield* alice.device.identityKey))).toBe(true)

          yield* bob.device.send(dm.dm_id, "welcome back")
          const [msg] = yield* historyOf(fresh.device.client, dm.dm_id, 1)
          expect(yield* fresh.device.read(msg!)).toBe("welcome back")
        }))

      it.scoped("key reset: contacts are told and forget the old group, the safety number changes, a new group works", () =>
        Effect.gen(function* () {
          const { alice, bob, dm } = yield* encryptedDm
          const bobKey = yield* bob.device.identityKey
          const before = safetyNumber(yield* alice.device.identityKey, bobKey)

          yield* alice.device.resetKeys("Alice's laptop")
          const after = safetyNumber(yield* alice.device.identityKey, bobKey)
          expect(after).not.toEqual(before)
          // the device passes a dispatch on once it has applied it
          const notified = yield* Queue.take(bob.device.dispatches).pipe(
            Effect.repeat({ until: (d) => d.t === "KEY_RESET_NOTIFY" }),
            Effect.timeout("5 seconds")
          )
          expect(notified.d.user_id).toBe(alice.user_id)
          expect((yield* Effect.flip(bob.device.epoch(dm.dm_id)))._tag).toBe("MlsFailure")

          // a new session for the DM: Bob sees Alice's new key in it
          yield* alice.device.startGroup(dm.dm_id, [bob.user_id as UserId])
          const fresh = yield* bob.device.awaitGroup(dm.dm_id)
          const keysSeen = Mls.memberLeaves(fresh).map((m) => m.publicKey)
          expect(safetyNumber(keysSeen[0]!, keysSeen[1]!)).toEqual(after)
          yield* alice.device.send(dm.dm_id, "new keys, same me")
          const [msg] = yield* historyOf(bob.client, dm.dm_id, 1)
          expect(yield* bob.device.read(msg!)).toBe("new keys, same me")
        }))
    })
  })
}
