// One device's end-to-end encryption against a Vox server (seed 002 §8): it publishes key packages
// (REST /keys), builds and changes the MLS group of a DM and relays the Commit and Welcome over op 9,
// sends and reads DM messages as MLS ciphertext (REST /dms), and follows the MLS_WELCOME and
// MLS_COMMIT dispatches of its gateway session in order, so a message is always read with the epoch
// it was sent in, and forgets its groups with a contact who reset their keys (KEY_RESET_NOTIFY).
// Pairing (pairing.ts) and recovery give a new device the user's leaf key.
import { Duration, Effect, Queue, type Scope, Schedule, Schema } from "effect"
import * as Dms from "../../protocol/api/dms.js"
import * as Keys from "../../protocol/api/keys.js"
import * as Ev from "../../protocol/events.js"
import { type MlsRelay, Op } from "../../protocol/gateway.js"
import type { DmId, UserId } from "../../protocol/ids.js"
import type { Dispatch, GatewayClient } from "../GatewayClient.js"
import type { VoxCallError, VoxClient } from "../VoxClient.js"
import { fromBase64, toBase64, utf8 } from "./bytes.js"
import { MlsFailure } from "./errors.js"
import { type DeviceKeys, fromBytes, toBytes } from "./leafBundle.js"
import * as Mls from "./mls.js"
import * as Recovery from "./recovery.js"

/** One-time key packages a device publishes at registration. */
const PREKEYS_PER_UPLOAD = 5

export interface E2eeDeviceOptions {
  readonly client: VoxClient
  readonly gateway: GatewayClient
  readonly userId: UserId
  readonly deviceId: string
  /** The leaf key, when the device has it already; otherwise pairing or recovery brings it. */
  readonly keys?: DeviceKeys
}

export const groupIdOf = (dmId: DmId) => utf8(`vox-dm:${dmId}`)

export const makeE2eeDevice = (options: E2eeDeviceOptions): Effect.Effect<E2eeDevice, never, Scope.Scope> =>
  Effect.gen(function* () {
    const { client, gateway, userId } = options
    let keys: DeviceKeys | null = options.keys ?? null
    const groups = new Map<DmId, Mls.GroupState>(options.keys?.groups ?? [])
    /** What this device sent: MLS gives a sender no way to decrypt its own message. */
    const sent = new Map<bigint, string>()
    const mailboxes = new Map<string, Queue.Queue<Dispatch>>()
    /** One change of keys or group state at a time: the dispatch loop and the caller both make them. */
    const lock = yield* Effect.makeSemaphore(1)

    const mailbox = (key: string) =>
      Effect.suspend(() => {
        const found = mailboxes.get(key)
        if (found !== undefined) return Effect.succeed(found)
        return Effect.tap(Queue.unbounded<Dispatch>(), (q) => Effect.sync(() => mailboxes.set(key, q)))
      })

    const needKeys = Effect.suspend(() =>
      keys === null
        ? Effect.fail(new MlsFailure({ message: "this device has no leaf key yet: pair it or restore a backup" }))
        : Effect.succeed(keys))

    const group = (dmId: DmId) =>
      Effect.suspend(() => {
        const state = groups.get(dmId)
        return state === undefined
          ? Effect.fail(new MlsFailure({ message: `no MLS group for DM ${dmId} on this device` }))
          : Effect.succeed(state)
      })

    const relay = (message: MlsRelay) => gateway.send(Op.MLS_RELAY, message)

    // --- following the gateway ---

    const onWelcome = (d: typeof Ev.MlsWelcome.schema.Type) =>
      Effect.gen(function* () {
        const own = yield* needKeys
        const joined = yield* Mls.joinFromWelcome(fromBase64(d.data), own.keyPackages)
        groups.set(d.dm_id, joined.state)
        // A one-time key package is spent once it has been used.
        keys = { ...own, keyPackages: own.keyPackages.filter((kp) => kp !== joined.keyPackage) }
      })

    const onCommit = (d: typeof Ev.MlsCommit.schema.Type) =>
      Effect.gen(function* () {
        // Our own Commit comes back to us too; we applied it when we made it.
        if (d.sender_id === userId) return
        const processed = yield* Mls.processMessage(yield* group(d.dm_id), fromBase64(d.data))
        groups.set(d.dm_id, processed.state)
      })

    /** seed 002 §8 "Key Reset": every group with that user is void; the DM needs a new one. */
    const onKeyReset = (d: typeof Ev.KeyResetNotify.schema.Type) =>
      Effect.sync(() => {
        if (d.user_id === userId) return
        for (const [dmId, state] of groups) {
          if (memberIds(state).includes(d.user_id)) groups.delete(dmId)
        }
      })

    const handle = (dispatch: Dispatch) =>
      Effect.gen(function* () {
        const decode = <S extends Schema.Schema.AnyNoContext>(schema: S) =>
          Schema.decodeUnknown(schema)(dispatch.d).pipe(Effect.mapError((e) => new MlsFailure({ message: e.message })))
        switch (dispatch.t) {
          case Ev.MlsWelcome.name:
            return yield* lock.withPermits(1)(Effect.flatMap(decode(Ev.MlsWelcome.schema), onWelcome))
          case Ev.MlsCommit.name:
            return yield* lock.withPermits(1)(Effect.flatMap(decode(Ev.MlsCommit.schema), onCommit))
          case Ev.KeyResetNotify.name:
            return yield* lock.withPermits(1)(Effect.flatMap(decode(Ev.KeyResetNotify.schema), onKeyReset))
          case Ev.DevicePairPrompt.name:
            return yield* Effect.flatMap(mailbox("prompts"), (q) => Queue.offer(q, dispatch))
          case Ev.DevicePairResult.name:
          case Ev.CPaceIsi.name:
          case Ev.CPaceRsi.name:
          case Ev.CPaceConfirm.name:
          case Ev.CPaceLeafTransfer.name:
            return yield* Effect.flatMap(mailbox(String(dispatch.d.pair_id)), (q) => Queue.offer(q, dispatch))
        }
      }).pipe(Effect.catchAll((e) => Effect.logWarning(`E2EE: ${dispatch.t} not applied`, e.message)))

    const others = yield* Queue.unbounded<Dispatch>()
    yield* Queue.take(gateway.dispatches).pipe(
      Effect.tap(handle),
      Effect.flatMap((d) => Queue.offer(others, d)),
      Effect.forever,
      Effect.forkScoped
    )

    // --- key packages ---

    /** Claims one key package of each user (their leaf is shared by their devices: one is enough). */
    const claimKeyPackages = (userIds: ReadonlyArray<UserId>) =>
      Effect.forEach(userIds, (id) =>
        Effect.gen(function* () {
          const bundles = yield* client.call(Keys.claimPrekeys, { params: { user_id: id } })
          const offered = bundles.devices.find((d) => d.one_time_prekey !== null)?.one_time_prekey
          if (offered === undefined || offered === null) {
            return yield* new MlsFailure({ message: `user ${id} has no key package left` })
          }
          return yield* Mls.decodeKeyPackage(fromBase64(offered))
        }))

    const device: E2eeDevice = {
      client,
      userId,
      deviceId: options.deviceId,
      dispatches: others,
      hasKeys: () => keys !== null,
      identityKey: Effect.map(needKeys, (k) => k.leaf.publicKey),
      mailbox,
      keys: Effect.suspend(() => Effect.map(needKeys, (k): DeviceKeys => ({ ...k, groups: new Map(groups) }))),
      install: (installed) =>
        lock.withPermits(1)(Effect.sync(() => {
          keys = installed
          for (const [dm, state] of installed.groups) groups.set(dm, state)
        })),

      generateLeaf: lock.withPermits(1)(Effect.gen(function* () {
        keys = { leaf: yield* Mls.generateLeafKey(userId), keyPackages: [], groups: new Map() }
      })),

      register: (deviceName) =>
        Effect.gen(function* () {
          yield* client.call(Keys.addDevice, { body: { device_id: options.deviceId, device_name: deviceName } })
          const own = yield* needKeys
          const fresh = yield* Effect.forEach(Array.from({ length: PREKEYS_PER_UPLOAD + 1 }), () => Mls.generateKeyPackage(own.leaf))
          const [lastResort, ...oneTime] = fresh
          yield* lock.withPermits(1)(Effect.sync(() => {
            keys = { ...own, keyPackages: [...(keys?.keyPackages ?? []), ...fresh] }
          }))
          const encoded = (kp: Mls.KeyPackageSecret) => toBase64(Mls.encodeKeyPackage(kp.publicPackage))
          return yield* client.call(Keys.uploadPrekeys, {
            body: {
              device_id: options.deviceId,
              identity_key: toBase64(own.leaf.publicKey),
              signed_prekey: encoded(lastResort!),
              last_resort_prekey: encoded(lastResort!),
              one_time_prekeys: oneTime.map(encoded)
            }
          })
        }),

      resetKeys: (deviceName) =>
        Effect.gen(function* () {
          yield* client.call(Keys.resetKeys)
          yield* lock.withPermits(1)(Effect.gen(function* () {
            groups.clear()
            keys = { leaf: yield* Mls.generateLeafKey(userId), keyPackages: [], groups: new Map() }
          }))
          return yield* device.register(deviceName)
        }),

      startGroup: (dmId, members) =>
        Effect.gen(function* () {
          const own = yield* needKeys
          const packages = yield* claimKeyPackages(members)
          yield* lock.withPermits(1)(Effect.gen(function* () {
            const created = yield* Mls.createGroup(groupIdOf(dmId), own.leaf)
            const added = yield* Mls.addMembers(created, packages)
            groups.set(dmId, added.state)
            yield* relay({ type: "welcome", dm_id: dmId, recipients: members, data: toBase64(added.welcome) })
          }))
        }),

      addMembers: (dmId, newMembers) =>
        Effect.gen(function* () {
          const packages = yield* claimKeyPackages(newMembers)
          yield* lock.withPermits(1)(Effect.gen(function* () {
            const before = yield* group(dmId)
            const existing = memberIds(before).filter((id) => id !== userId)
            const added = yield* Mls.addMembers(before, packages)
            groups.set(dmId, added.state)
            if (existing.length > 0) yield* relay({ type: "commit", dm_id: dmId, recipients: existing, data: toBase64(added.commit) })
            yield* relay({ type: "welcome", dm_id: dmId, recipients: newMembers, data: toBase64(added.welcome) })
          }))
        }),

      removeMembers: (dmId, removed) =>
        lock.withPermits(1)(Effect.gen(function* () {
          const before = yield* group(dmId)
          const recipients = memberIds(before).filter((id) => id !== userId)
          const result = yield* Mls.removeMembers(before, removed.map(Mls.identityOf))
          groups.set(dmId, result.state)
          // The removed members get the Commit too: it is how they learn they are out.
          yield* relay({ type: "commit", dm_id: dmId, recipients, data: toBase64(result.commit) })
        })),

      epoch: (dmId) => Effect.map(group(dmId), Mls.epoch),
      isMember: (dmId) => Effect.map(group(dmId), Mls.isMember),

      send: (dmId, text) =>
        lock.withPermits(1)(Effect.gen(function* () {
          const encrypted = yield* Mls.encrypt(yield* group(dmId), utf8(text))
          groups.set(dmId, encrypted.state)
          const posted = yield* client.call(Dms.sendDmMessage, { params: { dm_id: dmId }, body: { body: toBase64(encrypted.message) } })
          sent.set(posted.msg_id, text)
          return posted
        })),

      read: (message) =>
        lock.withPermits(1)(Effect.gen(function* () {
          const mine = sent.get(message.msg_id)
          if (mine !== undefined) return mine
          const processed = yield* Mls.processMessage(yield* group(message.dm_id), fromBase64(message.body))
          groups.set(message.dm_id, processed.state)
          if (processed.kind !== "application") return yield* new MlsFailure({ message: "not an application message" })
          return new TextDecoder().decode(processed.plaintext)
        })),

      awaitGroup: (dmId, check = () => true, within = "10 seconds") =>
        Effect.suspend(() => {
          const state = groups.get(dmId)
          return state !== undefined && check(state) ? Effect.succeed(state) : Effect.fail(new MlsFailure({ message: `no group for DM ${dmId} yet` }))
        }).pipe(
          Effect.retry(Schedule.spaced(Duration.millis(20))),
          Effect.timeoutFail({ duration: within, onTimeout: () => new MlsFailure({ message: `DM ${dmId}'s group did not arrive` }) })
        ),

      backUp: (phrase, cost) =>
        Effect.gen(function* () {
          const blob = yield* Recovery.sealBackup(phrase, userId, yield* toBytes(userId, yield* device.keys), cost)
          yield* client.call(Keys.putKeyBackup, { body: { encrypted_blob: toBase64(blob) } })
        }),

      restore: (phrase) =>
        Effect.gen(function* () {
          const backup = yield* client.call(Keys.getKeyBackup)
          const bytes = yield* Recovery.openBackup(phrase, userId, fromBase64(backup.encrypted_blob))
          yield* device.install(yield* fromBytes(userId, bytes))
        })
    }
    return device
  })

/** The user ids of a group's members, from their credentials. */
const memberIds = (state: Mls.GroupState) =>
  Mls.memberLeaves(state).map((m) => Number(new TextDecoder().decode(m.identity)) as UserId)

export interface E2eeDevice {
  readonly client: VoxClient
  readonly userId: UserId
  readonly deviceId: string
  /** The session's dispatches after this device has applied them (MLS state is current when one arrives). */
  readonly dispatches: Queue.Dequeue<Dispatch>
  readonly hasKeys: () => boolean
  /** The leaf's public key: what safety numbers compare. */
  readonly identityKey: Effect.Effect<Uint8Array, MlsFailure>
  /** Pairing and prompt dispatches, kept per pair id ("prompts" for DEVICE_PAIR_PROMPT) until taken. */
  readonly mailbox: (key: string) => Effect.Effect<Queue.Queue<Dispatch>>
  readonly keys: Effect.Effect<DeviceKeys, MlsFailure>
  readonly install: (keys: DeviceKeys) => Effect.Effect<void>
  /** A first device's leaf key, made on the device. */
  readonly generateLeaf: Effect.Effect<void>
  /** POST /keys/devices, then PUT /keys/prekeys with fresh key packages under the leaf key. */
  readonly register: (deviceName: string) => Effect.Effect<Keys.Device, VoxCallError | MlsFailure>
  /**
   * POST /keys/reset when the leaf key is lost for good: a new leaf key and key packages, every group
   * forgotten (contacts get KEY_RESET_NOTIFY and forget theirs; DMs need `startGroup` again).
   */
  readonly resetKeys: (deviceName: string) => Effect.Effect<Keys.Device, VoxCallError | MlsFailure>
  /** A new MLS group for a DM with these members (a Welcome each, over op 9); replaces one it had. */
  readonly startGroup: (dmId: DmId, members: ReadonlyArray<UserId>) => Effect.Effect<void, VoxCallError | MlsFailure>
  readonly addMembers: (dmId: DmId, members: ReadonlyArray<UserId>) => Effect.Effect<void, VoxCallError | MlsFailure>
  readonly removeMembers: (dmId: DmId, members: ReadonlyArray<UserId>) => Effect.Effect<void, MlsFailure>
  readonly epoch: (dmId: DmId) => Effect.Effect<bigint, MlsFailure>
  readonly isMember: (dmId: DmId) => Effect.Effect<boolean, MlsFailure>
  /** Encrypts and posts a DM message; the body the server stores is the MLS ciphertext in base64. */
  readonly send: (dmId: DmId, text: string) => Effect.Effect<{ readonly msg_id: bigint }, VoxCallError | MlsFailure>
  /** The plaintext of a DM message (from history or MESSAGE_CREATE). */
  readonly read: (message: Dms.DmMessage) => Effect.Effect<string, MlsFailure>
  /** Waits until this device holds the DM's group (and `check` holds for it). */
  readonly awaitGroup: (
    dmId: DmId,
    check?: (state: Mls.GroupState) => boolean,
    within?: Duration.DurationInput
  ) => Effect.Effect<Mls.GroupState, MlsFailure>
  /** Seals the leaf key and group states under the recovery phrase and stores the blob (PUT /keys/backup). */
  readonly backUp: (phrase: string, cost?: Recovery.Argon2idCost) => Effect.Effect<void, VoxCallError | MlsFailure | Recovery.RecoveryError>
  /** GET /keys/backup and opens it with the phrase: this device now has the leaf key. */
  readonly restore: (phrase: string) => Effect.Effect<void, VoxCallError | MlsFailure | Recovery.RecoveryError>
}
