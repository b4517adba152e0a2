// The key directory end to end (issue 6, part C): devices (register, rename, list, remove, the per-user
// limit, DEVICE_LIST_UPDATE to the user alone), key packages (upload, claim per device, each one-time
// package handed out once, then the last-resort package or PREKEY_EXHAUSTED; 403 for a user the caller
// may not DM), size limits, the key backup, and key reset (KEY_RESET_NOTIFY to DM contacts and nobody
// else). Acceptance 4: 50 concurrent claims of 10 one-time packages hand each out exactly once. Key
// material is opaque bytes here: the server never reads it. On SQLite and (when configured) PostgreSQL.
import { describe, expect, layer } from "@effect/vitest"
import { Effect } from "effect"
import * as Dms from "../../src/protocol/api/dms.js"
import * as Keys from "../../src/protocol/api/keys.js"
import * as Relationships from "../../src/protocol/api/relationships.js"
import * as ServerApi from "../../src/protocol/api/server.js"
import type { UserId } from "../../src/protocol/ids.js"
import { backends } from "../support/backends.js"
import { countRows, withSuiteDatabase } from "../support/db.js"
import { failure } from "../support/expect.js"
import { dispatchesWithin, gatewayFor, nextDispatch } from "../support/gateway.js"
import { rawEndpointRequest } from "../support/http.js"
import { newUser, owner, TestServer, TestServerLive } from "../support/server.js"

type Person = Effect.Effect.Success<ReturnType<typeof newUser>>

/** Opaque key material: what a client would upload, as the server sees it. */
const blob = (text: string) => Buffer.from(text).toString("base64")

const addDevice = (who: Person, device_id: string, device_name = "Laptop") =>
  who.client.call(Keys.addDevice, { body: { device_id, device_name } })

const devices = (who: Person) => Effect.map(who.client.call(Keys.listDevices), (r) => r.devices)

const upload = (who: Person, body: Keys.UploadPrekeys) => who.client.call(Keys.uploadPrekeys, { body })

const claim = (who: Person, target: Person) => who.client.call(Keys.claimPrekeys, { params: { user_id: target.user_id } })

/** A user with one registered device holding an identity key, a signed prekey and `count` one-time packages. */
const keyed = (prefix: string, count: number, extra: Partial<Keys.UploadPrekeys> = {}) =>
  Effect.gen(function* () {
    const who = yield* newUser(prefix)
    yield* addDevice(who, "dev_main")
    const packages = Array.from({ length: count }, (_, i) => blob(`${who.user_id}-otk-${i}`))
    yield* upload(who, { identity_key: blob(`ik-${who.user_id}`), signed_prekey: blob(`spk-${who.user_id}`), one_time_prekeys: packages, ...extra })
    return { who, packages }
  })

const setLimits = (patch: ServerApi.LimitsPatch) =>
  Effect.flatMap(owner, (o) => o.client.call(ServerApi.updateLimits, { body: patch }))

for (const backend of backends) {
  describe(`key directory on ${backend.name}`, () => {
    layer(TestServerLive(backend), { excludeTestServices: true })((it) => {
      it.scoped("devices are registered, renamed, listed and removed; only the user's sessions hear of it", () =>
        Effect.gen(function* () {
          yield* owner
          const alice = yield* newUser("alice")
          const bob = yield* newUser("bob")
          const aliceGateway = yield* gatewayFor(alice.token)
          const bobGateway = yield* gatewayFor(bob.token)
          yield* nextDispatch(bobGateway, (d) => d.t === "READY")

          const created = yield* rawEndpointRequest(Keys.addDevice, {}, { token: alice.token, body: { device_id: "dev_laptop", device_name: "Alice's Laptop" } })
          expect(created.status).toBe(201)
          expect(created.body).toMatchObject({ device_id: "dev_laptop", device_name: "Alice's Laptop", one_time_prekeys: 0, last_resort: false })
          const update = yield* nextDispatch(aliceGateway, (d) => d.t === "DEVICE_LIST_UPDATE")
          expect(update.d).toMatchObject({ user_id: alice.user_id, devices: [{ device_id: "dev_laptop", device_name: "Alice's Laptop" }] })

          yield* addDevice(alice, "dev_phone", "Phone")
          // The same id again renames it and adds nothing.
          yield* addDevice(alice, "dev_phone", "Alice's Phone")
          expect((yield* devices(alice)).map((d) => [d.device_id, d.device_name])).toEqual([
            ["dev_laptop", "Alice's Laptop"],
            ["dev_phone", "Alice's Phone"]
          ])
          expect(yield* devices(bob)).toEqual([])

          const removed = yield* rawEndpointRequest(Keys.removeDevice, { device_id: "dev_laptop" }, { token: alice.token })
          expect(removed.status).toBe(204)
          expect((yield* devices(alice)).map((d) => d.device_id)).toEqual(["dev_phone"])
          const last = yield* nextDispatch(aliceGateway, (d) => d.t === "DEVICE_LIST_UPDATE" && (d.d.devices as ReadonlyArray<Keys.Device>).length === 1)
          expect(last.d.user_id).toBe(alice.user_id)
          // Another user's device id is not found, and stays.
          expect(yield* failure(bob.client.call(Keys.removeDevice, { params: { device_id: "dev_phone" } }))).toEqual({ code: "DEVICE_NOT_FOUND" })
          expect(yield* devices(alice)).toHaveLength(1)
          // Bob heard nothing of Alice's devices.
          expect((yield* dispatchesWithin(bobGateway)).filter((d) => d.t === "DEVICE_LIST_UPDATE")).toEqual([])

          // A device id outside the protocol's alphabet is refused before anything is stored.
          const badId = yield* rawEndpointRequest(Keys.addDevice, {}, { token: alice.token, body: { device_id: "dev with spaces", device_name: "X" } })
          expect({ status: badId.status, code: badId.body.error.code }).toEqual({ status: 400, code: "INVALID_BODY" })
          expect(yield* devices(alice)).toHaveLength(1)
        }))

      it.scoped("a user has at most max_devices_per_user devices: 503 DEVICE_LIMIT_REACHED beyond", () =>
        Effect.gen(function* () {
          yield* owner
          const carol = yield* newUser("carol")
          yield* setLimits({ max_devices_per_user: 2 })
          yield* addDevice(carol, "one")
          yield* addDevice(carol, "two")
          const third = yield* rawEndpointRequest(Keys.addDevice, {}, { token: carol.token, body: { device_id: "three", device_name: "Tablet" } })
          expect(third.status).toBe(503)
          expect(third.body.error).toMatchObject({ code: "DEVICE_LIMIT_REACHED", max: 2 })
          // Renaming a known device is not a new one.
          yield* addDevice(carol, "two", "Renamed")
          // Concurrent registrations cannot pass the limit together either.
          yield* carol.client.call(Keys.removeDevice, { params: { device_id: "two" } })
          const racing = yield* Effect.all(
            ["a", "b", "c", "d"].map((id) => Effect.either(addDevice(carol, id))),
            { concurrency: "unbounded" }
          )
          expect(racing.filter((r) => r._tag === "Right")).toHaveLength(1)
          expect(yield* devices(carol)).toHaveLength(2)
          yield* setLimits({ max_devices_per_user: ServerApi.DEFAULT_LIMITS.max_devices_per_user })
        }))

      it.scoped("key packages: each one-time package is claimed once, then the last-resort one, then PREKEY_EXHAUSTED", () =>
        Effect.gen(function* () {
          const { who: dave, packages } = yield* keyed("dave", 2)
          const erin = yield* newUser("erin")
          expect((yield* devices(dave))[0]).toMatchObject({ device_id: "dev_main", one_time_prekeys: 2, last_resort: false })

          const first = yield* claim(erin, dave)
          expect(first).toEqual({
            user_id: dave.user_id,
            devices: [{
              device_id: "dev_main",
              identity_key: blob(`ik-${dave.user_id}`),
              signed_prekey: blob(`spk-${dave.user_id}`),
              one_time_prekey: packages[0],
              last_resort: false
            }]
          })
          expect((yield* claim(erin, dave)).devices[0]!.one_time_prekey).toBe(packages[1])
          const exhausted = yield* rawEndpointRequest(Keys.claimPrekeys, { user_id: dave.user_id }, { token: erin.token })
          expect(exhausted.status).toBe(503)
          expect(exhausted.body.error.code).toBe("PREKEY_EXHAUSTED")

          // A last-resort package is handed out whenever the one-time ones are gone, and stays.
          const uploaded = yield* upload(dave, { last_resort_prekey: blob("last-resort") })
          expect(uploaded).toMatchObject({ device_id: "dev_main", one_time_prekeys: 0, last_resort: true })
          for (let i = 0; i < 2; i++) {
            expect((yield* claim(erin, dave)).devices[0]).toMatchObject({ one_time_prekey: blob("last-resort"), last_resort: true })
          }
          // New one-time packages go first again; the keys uploaded before stay.
          yield* upload(dave, { one_time_prekeys: [blob("fresh")] })
          expect((yield* claim(erin, dave)).devices[0]).toMatchObject({
            identity_key: blob(`ik-${dave.user_id}`),
            one_time_prekey: blob("fresh"),
            last_resort: false
          })

          // One bundle per keyed device: a second device of Dave's, registered from another session.
          const phone = dave.client.withToken((yield* (yield* TestServer).client.login({ username: dave.username, password: dave.password })).token)
          yield* phone.call(Keys.addDevice, { body: { device_id: "dev_phone", device_name: "Phone" } })
          // No device_id: the device this session registered.
          yield* phone.call(Keys.uploadPrekeys, { body: { identity_key: blob("ik-phone"), signed_prekey: blob("spk-phone"), one_time_prekeys: [blob("phone-otk")] } })
          const both = yield* claim(erin, dave)
          expect(both.devices.map((d) => [d.device_id, d.one_time_prekey, d.last_resort])).toEqual([
            ["dev_main", blob("last-resort"), true],
            ["dev_phone", blob("phone-otk"), false]
          ])
          // The phone's one-time package is gone: its bundle now has none, and the main device still has its last resort.
          expect((yield* claim(erin, dave)).devices.map((d) => d.one_time_prekey)).toEqual([blob("last-resort"), null])
        }))

      it.scoped("bad key uploads are refused and change nothing; a claim needs a user the caller may DM", () =>
        Effect.gen(function* () {
          const frank = yield* newUser("frank")
          const grace = yield* newUser("grace")
          // No device registered by this session, and none named.
          expect(yield* failure(upload(frank, { identity_key: blob("ik"), signed_prekey: blob("spk") }))).toEqual({ code: "INVALID_BODY" })
          expect(yield* failure(upload(frank, { device_id: "nope", identity_key: blob("ik"), signed_prekey: blob("spk") }))).toEqual({ code: "DEVICE_NOT_FOUND" })
          yield* addDevice(frank, "dev_f")
          // A first upload needs the identity key and the signed prekey.
          expect(yield* failure(upload(frank, { one_time_prekeys: [blob("otk")] }))).toEqual({ code: "INVALID_BODY" })
          // Not base64.
          const notBase64 = yield* rawEndpointRequest(Keys.uploadPrekeys, {}, { token: frank.token, body: { identity_key: "not base64!", signed_prekey: blob("spk") } })
          expect(notBase64.body.error.code).toBe("INVALID_BODY")
          // A package above max_key_package_bytes: 400 MESSAGE_TOO_LARGE, and none of the upload is stored.
          const max = ServerApi.DEFAULT_LIMITS.max_key_package_bytes
          const tooBig = yield* rawEndpointRequest(Keys.uploadPrekeys, {}, {
            token: frank.token,
            body: { identity_key: blob("ik"), signed_prekey: blob("spk"), one_time_prekeys: [blob("ok"), Buffer.alloc(max + 1).toString("base64")] }
          })
          expect(tooBig.status).toBe(400)
          expect(tooBig.body.error).toMatchObject({ code: "MESSAGE_TOO_LARGE", max_bytes: max })
          expect(yield* withSuiteDatabase(countRows("key_packages", (sql) => sql`user_id = ${frank.user_id}`))).toBe(0)
          expect(yield* failure(claim(grace, frank))).toEqual({ code: "PREKEY_EXHAUSTED" })
          // Exactly at the limit is fine.
          yield* upload(frank, { identity_key: blob("ik"), signed_prekey: blob("spk"), one_time_prekeys: [Buffer.alloc(max).toString("base64")] })

          // Someone who accepts DMs from nobody: their packages are not handed to a stranger, and none is used up.
          yield* frank.client.call(Relationships.updateDmSettings, { body: { dm_permission: "nobody" } })
          const refused = yield* rawEndpointRequest(Keys.claimPrekeys, { user_id: frank.user_id }, { token: grace.token })
          expect(refused.status).toBe(403)
          expect((yield* devices(frank))[0]!.one_time_prekeys).toBe(1)
          // A block refuses too, either way round.
          yield* frank.client.call(Relationships.updateDmSettings, { body: { dm_permission: "everyone" } })
          yield* grace.client.call(Relationships.blockUser, { params: { user_id: frank.user_id } })
          expect((yield* failure(claim(frank, grace))).code).toBe("USER_BLOCKED")
          expect((yield* failure(claim(grace, frank))).code).toBe("USER_BLOCKED")
          // An unknown user.
          const ghost = yield* rawEndpointRequest(Keys.claimPrekeys, { user_id: 999_999 }, { token: grace.token })
          expect(ghost.body.error.code).toBe("USER_NOT_FOUND")
        }))

      it.scoped("a device keeps at most MAX_STORED_PREKEYS one-time packages; an upload beyond is refused whole", () =>
        Effect.gen(function* () {
          const { who: kate } = yield* keyed("kate", 0)
          const batch = (n: number) => Array.from({ length: Keys.MAX_PREKEYS_PER_UPLOAD }, (_, i) => blob(`${n}-${i}`))
          for (let n = 0; n < Keys.MAX_STORED_PREKEYS / Keys.MAX_PREKEYS_PER_UPLOAD; n++) {
            yield* upload(kate, { one_time_prekeys: batch(n) })
          }
          expect(yield* failure(upload(kate, { one_time_prekeys: [blob("one too many")] }))).toEqual({ code: "LIMIT_REACHED" })
          expect((yield* devices(kate))[0]!.one_time_prekeys).toBe(Keys.MAX_STORED_PREKEYS)
          // More than 100 in one upload does not decode.
          const tooMany = yield* rawEndpointRequest(Keys.uploadPrekeys, {}, {
            token: kate.token,
            body: { one_time_prekeys: Array.from({ length: Keys.MAX_PREKEYS_PER_UPLOAD + 1 }, () => blob("x")) }
          })
          expect(tooMany.body.error.code).toBe("INVALID_BODY")
        }))

      it.scoped("the key backup is stored, replaced and read back; 404 KEY_BACKUP_NOT_FOUND before; oversize refused", () =>
        Effect.gen(function* () {
          const heidi = yield* newUser("heidi")
          const ivan = yield* newUser("ivan")
          expect(yield* failure(heidi.client.call(Keys.getKeyBackup))).toEqual({ code: "KEY_BACKUP_NOT_FOUND" })
          yield* heidi.client.call(Keys.putKeyBackup, { body: { encrypted_blob: blob("backup v1") } })
          yield* heidi.client.call(Keys.putKeyBackup, { body: { encrypted_blob: blob("backup v2") } })
          expect(yield* heidi.client.call(Keys.getKeyBackup)).toEqual({ encrypted_blob: blob("backup v2") })
          // Nobody else's.
          expect(yield* failure(ivan.client.call(Keys.getKeyBackup))).toEqual({ code: "KEY_BACKUP_NOT_FOUND" })
          const max = ServerApi.DEFAULT_LIMITS.max_key_backup_bytes
          const tooBig = yield* rawEndpointRequest(Keys.putKeyBackup, {}, { token: heidi.token, body: { encrypted_blob: Buffer.alloc(max + 1).toString("base64") } })
          expect(tooBig.body.error).toMatchObject({ code: "MESSAGE_TOO_LARGE", max_bytes: max })
          expect(yield* heidi.client.call(Keys.getKeyBackup)).toEqual({ encrypted_blob: blob("backup v2") })
        }))

      it.scoped("a key reset forgets the user's keys and backup and tells every DM contact, and nobody else", () =>
        Effect.gen(function* () {
          const { who: judy } = yield* keyed("judy", 3, { last_resort_prekey: blob("lr") })
          const kim = yield* newUser("kim")
          const leo = yield* newUser("leo")
          const mia = yield* newUser("mia")
          const stranger = yield* newUser("stranger")
          yield* judy.client.call(Keys.putKeyBackup, { body: { encrypted_blob: blob("judy backup") } })
          yield* judy.client.call(Dms.openDm, { body: { recipient_id: kim.user_id } })
          yield* judy.client.call(Dms.openDm, { body: { recipient_ids: [leo.user_id, mia.user_id] } })
          // A DM Judy closed still has its contact.
          const closed = yield* mia.client.call(Dms.openDm, { body: { recipient_id: judy.user_id } })
          yield* judy.client.call(Dms.closeDm, { params: { dm_id: closed.dm_id } })
          // A DM without Judy.
          yield* stranger.client.call(Dms.openDm, { body: { recipient_id: kim.user_id } })

          const gateways = yield* Effect.all([judy, kim, leo, mia, stranger].map((p) => gatewayFor(p.token)))
          for (const g of gateways) yield* nextDispatch(g, (d) => d.t === "READY")
          const [judyGateway, ...others] = gateways

          const reset = yield* rawEndpointRequest(Keys.resetKeys, {}, { token: judy.token })
          expect(reset.status).toBe(204)
          for (const g of others.slice(0, 3)) {
            const notice = yield* nextDispatch(g, (d) => d.t === "KEY_RESET_NOTIFY")
            expect(notice.d).toEqual({ user_id: judy.user_id })
          }
          expect((yield* dispatchesWithin(others[3]!)).filter((d) => d.t === "KEY_RESET_NOTIFY")).toEqual([])
          expect((yield* dispatchesWithin(judyGateway!)).filter((d) => d.t === "KEY_RESET_NOTIFY")).toEqual([])
          // Exactly once each, and logged for those three alone.
          const logged = yield* withSuiteDatabase((sql) => sql<{ audience: string }>`SELECT audience FROM event_log WHERE type = 'KEY_RESET_NOTIFY'`)
          expect(logged).toHaveLength(1)
          expect(JSON.parse(logged[0]!.audience).user_ids.sort((a: number, b: number) => a - b)).toEqual(
            [kim.user_id, leo.user_id, mia.user_id].sort((a, b) => a - b)
          )

          // The keys are gone: nothing to claim, no backup; the device stays registered.
          expect(yield* failure(claim(kim, judy))).toEqual({ code: "PREKEY_EXHAUSTED" })
          expect(yield* failure(judy.client.call(Keys.getKeyBackup))).toEqual({ code: "KEY_BACKUP_NOT_FOUND" })
          expect(yield* devices(judy)).toMatchObject([{ device_id: "dev_main", one_time_prekeys: 0, last_resort: false }])
          // Fresh keys work again.
          yield* upload(judy, { identity_key: blob("ik2"), signed_prekey: blob("spk2"), one_time_prekeys: [blob("new")] })
          expect((yield* claim(kim, judy)).devices[0]).toMatchObject({ identity_key: blob("ik2"), one_time_prekey: blob("new") })
        }))

      it.scoped("acceptance 4: 50 concurrent claims of 10 one-time key packages hand out each exactly once", () =>
        Effect.gen(function* () {
          const { who: target, packages } = yield* keyed("target", 10)
          const claimers = yield* Effect.all(Array.from({ length: 5 }, (_, i) => newUser(`claimer${i}`)))
          const attempts = claimers.flatMap((c) => Array.from({ length: 10 }, () => c))
          const results = yield* Effect.all(
            attempts.map((c) => Effect.either(claim(c, target))),
            { concurrency: "unbounded" }
          )
          const handed = results.flatMap((r) => (r._tag === "Right" ? [r.right.devices[0]!.one_time_prekey] : []))
          const refused = results.flatMap((r) => (r._tag === "Left" ? [(r.left as { code: string }).code] : []))
          expect(handed).toHaveLength(10)
          expect([...handed].sort()).toEqual([...packages].sort())
          expect(refused).toEqual(Array.from({ length: 40 }, () => "PREKEY_EXHAUSTED"))
          expect(yield* withSuiteDatabase(countRows("key_packages", (sql) => sql`user_id = ${target.user_id as UserId}`))).toBe(0)
        }))
    })

    // A one-time package is handed out once: claiming from one user is limited per claimer and per user
    // claimed from, so no account can drain another's supply (the `keyClaim` bucket, 2 here).
    layer(TestServerLive(backend, { rateLimits: { keyClaim: { requests: 2, per: "1 hour" } } }), { excludeTestServices: true })((it) => {
      it.effect("claims from one user are limited per claimer; a refused claim uses up nothing", () =>
        Effect.gen(function* () {
          yield* owner
          const { who: target } = yield* keyed("target", 10)
          const { who: other } = yield* keyed("other", 10)
          const greedy = yield* newUser("greedy")
          const polite = yield* newUser("polite")
          for (let i = 0; i < 2; i++) yield* claim(greedy, target)
          const refused = yield* rawEndpointRequest(Keys.claimPrekeys, { user_id: target.user_id }, { token: greedy.token })
          expect(refused.status).toBe(429)
          expect(refused.body.error.code).toBe("RATE_LIMITED")
          expect((yield* devices(target))[0]!.one_time_prekeys).toBe(8)
          // another user claimed from, and another claimer, each have a bucket of their own
          yield* claim(greedy, other)
          yield* claim(polite, target)
          expect((yield* devices(target))[0]!.one_time_prekeys).toBe(7)
        }))
    })
  })
}
