// What one client hands another inside end-to-end encryption, never readable by the server: the
// user's leaf key as it travels in a CPace `leaf_transfer` and in the key backup (seed 002 §8
// "Multi-Device: Shared Leaf Key", "Recovery"). Every client of the protocol must read it, so its shape
// is part of the protocol; it is JSON, then sealed with AES-256-GCM before it leaves the device.
import { Schema } from "effect"
import { KeyBlob } from "./api/keys.js"
import { DmId, UserId } from "./ids.js"

export const LEAF_BUNDLE_VERSION = 1

/** A key package this device published, with the private keys that join a group from its Welcome. */
export const KeyPackageSecrets = Schema.Struct({
  /** The MLSMessage-encoded KeyPackage, as uploaded. */
  key_package: KeyBlob,
  init_private_key: KeyBlob,
  hpke_private_key: KeyBlob
})

/** A DM's MLS group state (ts-mls GroupState encoding) at the moment the bundle was made. */
export const GroupSnapshot = Schema.Struct({ dm_id: DmId, state: KeyBlob })

export const LeafBundle = Schema.Struct({
  version: Schema.Literal(LEAF_BUNDLE_VERSION),
  user_id: UserId,
  /** The MLS credential identity. */
  identity: KeyBlob,
  /** Ed25519: the identity key safety numbers compare. */
  public_key: KeyBlob,
  sign_key: KeyBlob,
  key_packages: Schema.Array(KeyPackageSecrets),
  groups: Schema.Array(GroupSnapshot)
})
export type LeafBundle = typeof LeafBundle.Type

export const LeafBundleJson = Schema.parseJson(LeafBundle)
