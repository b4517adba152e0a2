// The key directory of end-to-end encrypted DMs: reference API.md "E2E Encryption Keys", E2EE.md and
// seed 002 §8. The server is a delivery service (DECISIONS.md "End-to-end encryption"): every key,
// key package and backup is an opaque base64 blob it stores and hands out, bounded in bytes by the
// server limits (max_key_package_bytes, max_key_backup_bytes), never read.
//
// A REST request names its device by the session that registered it (POST /keys/devices binds the
// device to the caller's session), or explicitly by `device_id`: the protocol gives requests no
// device header.
import { Schema } from "effect"
import { endpoint } from "../endpoint.js"
import { idFromString, UserId } from "../ids.js"
import { Name, Timestamp } from "./fields.js"

/** Standard base64 with padding: how every blob travels in JSON. */
export const KeyBlob = Schema.String.pipe(
  Schema.minLength(1, { message: () => "Expected base64 data" }),
  Schema.maxLength(1_400_000),
  Schema.pattern(/^[A-Za-z0-9+/]*={0,2}$/, { message: () => "Expected base64 data" })
)

/** The number of bytes a base64 blob stands for: what size limits count. */
export const blobBytes = (blob: string): number => {
  const padding = blob.endsWith("==") ? 2 : blob.endsWith("=") ? 1 : 0
  return Math.floor((blob.length * 3) / 4) - padding
}

/** Chosen by the client (`dev_abc123`), unique among the user's devices. */
export const DeviceId = Schema.String.pipe(
  Schema.pattern(/^[A-Za-z0-9_.:-]{1,128}$/, {
    message: () => "Device ids are 1-128 letters, digits and _ . : -"
  })
)
export type DeviceId = typeof DeviceId.Type

/** A pairing session, issued by the server. */
export const PairId = Schema.String.pipe(
  Schema.pattern(/^pair_[A-Za-z0-9_-]{16,64}$/, { message: () => "Unknown pairing id" })
)
export type PairId = typeof PairId.Type

/** The most one-time key packages one upload carries. */
export const MAX_PREKEYS_PER_UPLOAD = 100
/** The most one-time key packages a device keeps on the server; an upload beyond is refused. */
export const MAX_STORED_PREKEYS = 1_000

export const Device = Schema.Struct({
  device_id: DeviceId,
  device_name: Schema.String,
  created_at: Timestamp,
  /** One-time key packages of this device still unclaimed: time to upload more when low. */
  one_time_prekeys: Schema.Number,
  /** Whether the device left a last-resort key package, handed out when its one-time ones run out. */
  last_resort: Schema.Boolean
})
export type Device = typeof Device.Type

export const DeviceList = Schema.Struct({ devices: Schema.Array(Device) })

export const AddDevice = Schema.Struct({
  device_id: DeviceId,
  device_name: Name("Device")
})
export type AddDevice = typeof AddDevice.Type

/**
 * Key material of one device. One-time key packages are added to those already stored (each is
 * handed out once); the identity key, signed prekey and last-resort package replace the stored ones.
 * The first upload of a device needs `identity_key` and `signed_prekey`.
 */
export const UploadPrekeys = Schema.Struct({
  /** Default: the device registered by the caller's session. */
  device_id: Schema.optional(DeviceId),
  identity_key: Schema.optional(KeyBlob),
  signed_prekey: Schema.optional(KeyBlob),
  one_time_prekeys: Schema.optional(Schema.Array(KeyBlob).pipe(Schema.maxItems(MAX_PREKEYS_PER_UPLOAD))),
  /** Reusable key package (RFC 9420 §16.8 "last resort"): handed out, never used up. */
  last_resort_prekey: Schema.optional(KeyBlob)
})
export type UploadPrekeys = typeof UploadPrekeys.Type

/** One device's bundle as another user receives it. */
export const PrekeyBundle = Schema.Struct({
  device_id: DeviceId,
  identity_key: KeyBlob,
  signed_prekey: KeyBlob,
  /** A one-time key package, just claimed for the caller; the last-resort one when they ran out; null when neither exists. */
  one_time_prekey: Schema.NullOr(KeyBlob),
  /** `one_time_prekey` is the device's last-resort package (others may receive it too). */
  last_resort: Schema.Boolean
})
export type PrekeyBundle = typeof PrekeyBundle.Type

export const PrekeyBundles = Schema.Struct({
  user_id: UserId,
  devices: Schema.Array(PrekeyBundle)
})
export type PrekeyBundles = typeof PrekeyBundles.Type

export const PairMethod = Schema.Literal("cpace", "qr")
export type PairMethod = typeof PairMethod.Type

export const StartPairing = Schema.Struct({
  device_name: Name("Device"),
  /** Default `cpace`. */
  method: Schema.optional(PairMethod),
  /** QR method only: the new device's temporary public key. */
  temp_public_key: Schema.optional(KeyBlob)
})
export type StartPairing = typeof StartPairing.Type

export const PairingStarted = Schema.Struct({
  pair_id: PairId,
  /** When the pairing ends unless finished (5 minutes by default). */
  expires_at: Timestamp
})

export const RespondPairing = Schema.Struct({ approved: Schema.Boolean })

export const KeyBackup = Schema.Struct({ encrypted_blob: KeyBlob })
export type KeyBackup = typeof KeyBackup.Type

const DeviceParams = Schema.Struct({ device_id: DeviceId })
const UserParams = Schema.Struct({ user_id: idFromString(UserId) })
const PairParams = Schema.Struct({ pair_id: PairId })

/** The caller's devices, oldest first. */
export const listDevices = endpoint({
  name: "listDevices",
  method: "GET",
  path: "/api/v1/keys/devices",
  access: "account",
  success: DeviceList
})

/**
 * Registers the caller's device (binding it to the caller's session) within the per-user limit
 * (503 DEVICE_LIMIT_REACHED); registering an id again renames it. The user's sessions get DEVICE_LIST_UPDATE.
 */
export const addDevice = endpoint({
  name: "addDevice",
  method: "POST",
  path: "/api/v1/keys/devices",
  access: "account",
  body: AddDevice,
  success: Device,
  status: 201
})

/** Removes one of the caller's devices with its key packages. */
export const removeDevice = endpoint({
  name: "removeDevice",
  method: "DELETE",
  path: "/api/v1/keys/devices/:device_id",
  access: "account",
  params: DeviceParams
})

/** Stores a device's keys; answers how many one-time key packages it now has. */
export const uploadPrekeys = endpoint({
  name: "uploadPrekeys",
  method: "PUT",
  path: "/api/v1/keys/prekeys",
  access: "account",
  body: UploadPrekeys,
  success: Device
})

/**
 * One bundle per device of the user, each with a one-time key package claimed for the caller (handed
 * out exactly once) or the device's last-resort package. 503 PREKEY_EXHAUSTED when no device has a
 * package left; 403 when the caller may not DM the user.
 */
export const claimPrekeys = endpoint({
  name: "claimPrekeys",
  method: "GET",
  path: "/api/v1/keys/prekeys/:user_id",
  access: "account",
  params: UserParams,
  success: PrekeyBundles
})

/** A new device asks the user's other devices to pair (DEVICE_PAIR_PROMPT); 5 minutes to finish. */
export const startPairing = endpoint({
  name: "startPairing",
  method: "POST",
  path: "/api/v1/keys/devices/pair",
  access: "account",
  body: StartPairing,
  success: PairingStarted,
  status: 201
})

/**
 * Another session of the same user approves or denies (DEVICE_PAIR_RESULT to the user's sessions).
 * 410 DEVICE_PAIR_EXPIRED after the pairing's time, 403 DEVICE_PAIR_DENIED once denied.
 */
export const respondPairing = endpoint({
  name: "respondPairing",
  method: "POST",
  path: "/api/v1/keys/devices/pair/:pair_id/respond",
  access: "account",
  params: PairParams,
  body: RespondPairing
})

/** Stores (replaces) the caller's encrypted key backup. */
export const putKeyBackup = endpoint({
  name: "putKeyBackup",
  method: "PUT",
  path: "/api/v1/keys/backup",
  access: "account",
  body: KeyBackup
})

/** 404 KEY_BACKUP_NOT_FOUND when there is none. */
export const getKeyBackup = endpoint({
  name: "getKeyBackup",
  method: "GET",
  path: "/api/v1/keys/backup",
  access: "account",
  success: KeyBackup
})

/**
 * Forgets every key package and the backup of the caller (their devices stay registered, with no
 * keys); every DM contact gets KEY_RESET_NOTIFY.
 */
export const resetKeys = endpoint({
  name: "resetKeys",
  method: "POST",
  path: "/api/v1/keys/reset",
  access: "account"
})
