// The key directory (seed 002 §8, reference API.md "E2E Encryption Keys"): a user's devices, their key
// packages, the encrypted key backup, and key reset. The server is a delivery service: it checks sizes
// and who may ask, and never reads a key.
import { Effect, Option } from "effect"
import { type AddDevice, blobBytes, MAX_STORED_PREKEYS, type PrekeyBundle, type UploadPrekeys } from "../../protocol/api/keys.js"
import {
  DeviceLimitReached,
  DeviceNotFound,
  InvalidBody,
  KeyBackupNotFound,
  LimitReached,
  MessageTooLarge,
  PrekeyExhausted,
  UserNotFound
} from "../../protocol/errors.js"
import * as Ev from "../../protocol/events.js"
import type { UserId } from "../../protocol/ids.js"
import type { Caller } from "../../runtime/auth/Sessions.js"
import { dieOnStorageError } from "../../runtime/db/storageErrors.js"
import { type Emit, Events } from "../../runtime/events/Events.js"
import { readLimits } from "../community/limits/limits.js"
import { checkDmAllowed } from "../dm/allowed.js"
import { toUsers } from "../dm/rules.js"
import { KeysRepo } from "./KeysRepo.js"

/** MESSAGE_TOO_LARGE when a blob stands for more than `max` bytes. */
export const checkBlobSize = (blob: string, max: number, what: string) =>
  blobBytes(blob) > max
    ? Effect.fail(new MessageTooLarge({ message: `${what} is at most ${max} bytes.`, max_bytes: max }))
    : Effect.void

export class KeyDirectory extends Effect.Service<KeyDirectory>()("vox/KeyDirectory", {
  effect: Effect.gen(function* () {
    const repo = yield* KeysRepo
    const events = yield* Events

    /** The user's sessions learn their device list as it now stands. */
    const announceDevices = (emit: Emit, userId: UserId) =>
      Effect.flatMap(repo.devices(userId), (devices) => emit(Ev.DeviceListUpdate, { user_id: userId, devices }, toUsers([userId])))

    const requireDevice = (userId: UserId, deviceId: string) =>
      Effect.flatMap(repo.device(userId, deviceId), Option.match({
        onNone: () => Effect.fail(new DeviceNotFound()),
        onSome: Effect.succeed
      }))

    const list = (userId: UserId) => repo.devices(userId).pipe(dieOnStorageError)

    /** A new id counts against `max_devices_per_user`; a known one is renamed and bound to this session. */
    const addDevice = (caller: Caller, body: AddDevice) =>
      events.transact((emit) =>
        Effect.gen(function* () {
          yield* repo.lockUser(caller.userId)
          const known = yield* repo.device(caller.userId, body.device_id)
          if (Option.isNone(known)) {
            const max = (yield* readLimits).max_devices_per_user
            if ((yield* repo.countDevices(caller.userId)) >= max) return yield* new DeviceLimitReached({ max })
          }
          yield* repo.upsertDevice(caller.userId, body.device_id, body.device_name, caller.sessionId, Date.now())
          yield* announceDevices(emit, caller.userId)
          return yield* requireDevice(caller.userId, body.device_id)
        })
      ).pipe(dieOnStorageError)

    const removeDevice = (userId: UserId, deviceId: string) =>
      events.transact((emit) =>
        Effect.gen(function* () {
          yield* repo.lockUser(userId)
          if (!(yield* repo.removeDevice(userId, deviceId))) return yield* new DeviceNotFound()
          yield* announceDevices(emit, userId)
        })
      ).pipe(dieOnStorageError)

    /** The device a request means: the one it names, else the one its session registered. */
    const deviceOf = (caller: Caller, named: string | undefined) =>
      Effect.gen(function* () {
        if (named !== undefined) return named
        const bound = yield* repo.deviceOfSession(caller.userId, caller.sessionId)
        if (Option.isSome(bound)) return bound.value
        return yield* new InvalidBody({
          message: "This session has registered no device: register it (POST /api/v1/keys/devices) or name its device_id.",
          location: "body"
        })
      })

    const uploadPrekeys = (caller: Caller, body: UploadPrekeys) =>
      events.transact((emit) =>
        Effect.gen(function* () {
          const max = (yield* readLimits).max_key_package_bytes
          const packages = body.one_time_prekeys ?? []
          const blobs = [body.identity_key, body.signed_prekey, body.last_resort_prekey, ...packages]
          for (const blob of blobs) if (blob !== undefined) yield* checkBlobSize(blob, max, "A key or key package")
          const deviceId = yield* deviceOf(caller, body.device_id)
          yield* repo.lockUser(caller.userId)
          yield* requireDevice(caller.userId, deviceId)
          const complete = (body.identity_key !== undefined && body.signed_prekey !== undefined) ||
            (yield* repo.hasKeys(caller.userId, deviceId))
          if (!complete) {
            return yield* new InvalidBody({ message: "A device's first upload needs identity_key and signed_prekey.", location: "body" })
          }
          const stored = yield* repo.countPackages(caller.userId, deviceId)
          if (stored + packages.length > MAX_STORED_PREKEYS) {
            return yield* new LimitReached({
              message: `A device keeps at most ${MAX_STORED_PREKEYS} one-time prekeys; it has ${stored}.`,
              limit: "one_time_prekeys",
              max: MAX_STORED_PREKEYS
            })
          }
          yield* repo.setKeys(caller.userId, deviceId, {
            identity_key: body.identity_key ?? null,
            signed_prekey: body.signed_prekey ?? null,
            last_resort: body.last_resort_prekey ?? null
          })
          yield* repo.addPackages(caller.userId, deviceId, packages)
          // A device whose identity key is new (or changed) is news to the user's other devices.
          if (body.identity_key !== undefined) yield* announceDevices(emit, caller.userId)
          return yield* requireDevice(caller.userId, deviceId)
        })
      ).pipe(dieOnStorageError)

    /**
     * One bundle per keyed device of `target`, each claiming a one-time key package for the caller.
     * No transaction: each claim is one atomic statement, and concurrent claimers do not wait on each other.
     */
    const claim = (caller: UserId, target: UserId) =>
      Effect.gen(function* () {
        if (!(yield* repo.userExists(target))) return yield* new UserNotFound()
        if (caller !== target) yield* checkDmAllowed(caller, target)
        const devices = yield* repo.keyedDevices(target)
        const bundles: Array<PrekeyBundle> = []
        for (const device of devices) {
          const claimed = yield* repo.claimPackage(target, device.device_id)
          const lastResort = Option.isNone(claimed) && device.last_resort !== null
          bundles.push({
            device_id: device.device_id,
            identity_key: device.identity_key,
            signed_prekey: device.signed_prekey,
            one_time_prekey: Option.getOrElse(claimed, () => device.last_resort),
            last_resort: lastResort
          })
        }
        if (!bundles.some((b) => b.one_time_prekey !== null)) return yield* new PrekeyExhausted()
        return { user_id: target, devices: bundles }
      }).pipe(dieOnStorageError)

    const putBackup = (userId: UserId, blob: string) =>
      Effect.gen(function* () {
        yield* checkBlobSize(blob, (yield* readLimits).max_key_backup_bytes, "A key backup")
        yield* repo.putBackup(userId, blob, Date.now())
      }).pipe(dieOnStorageError)

    const getBackup = (userId: UserId) =>
      Effect.flatMap(repo.backup(userId), Option.match({
        onNone: () => Effect.fail(new KeyBackupNotFound()),
        onSome: (blob) => Effect.succeed({ encrypted_blob: blob })
      })).pipe(dieOnStorageError)

    /** seed 002 §8 "Key Reset": the keys are gone, and everyone the user shares a DM with is told. */
    const reset = (userId: UserId) =>
      events.transact((emit) =>
        Effect.gen(function* () {
          yield* repo.lockUser(userId)
          yield* repo.forgetKeys(userId)
          const contacts = yield* repo.dmContacts(userId)
          if (contacts.length > 0) yield* emit(Ev.KeyResetNotify, { user_id: userId }, toUsers(contacts))
          yield* announceDevices(emit, userId)
        })
      ).pipe(dieOnStorageError)

    return { list, addDevice, removeDevice, uploadPrekeys, claim, putBackup, getBackup, reset } as const
  }),
  dependencies: [KeysRepo.Default]
}) {}
