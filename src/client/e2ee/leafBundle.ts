// The user's leaf key, its unused key packages and the DM group states, to and from the protocol's
// LeafBundle bytes: what a CPace leaf transfer and the key backup seal.
import { Effect, Schema } from "effect"
import { LEAF_BUNDLE_VERSION, type LeafBundle, LeafBundleJson } from "../../protocol/e2ee.js"
import type { DmId, UserId } from "../../protocol/ids.js"
import { fromBase64, toBase64, utf8 } from "./bytes.js"
import { MlsFailure } from "./errors.js"
import * as Mls from "./mls.js"

/** What a device holds to take part in its user's DMs. */
export interface DeviceKeys {
  readonly leaf: Mls.LeafKey
  /** Key packages published and not yet used to join a group. */
  readonly keyPackages: ReadonlyArray<Mls.KeyPackageSecret>
  readonly groups: ReadonlyMap<DmId, Mls.GroupState>
}

export const toBytes = (userId: UserId, keys: DeviceKeys) =>
  Effect.gen(function* () {
    const bundle: LeafBundle = {
      version: LEAF_BUNDLE_VERSION,
      user_id: userId,
      identity: toBase64(keys.leaf.identity),
      public_key: toBase64(keys.leaf.publicKey),
      sign_key: toBase64(keys.leaf.signKey),
      key_packages: keys.keyPackages.map((kp) => ({
        key_package: toBase64(Mls.encodeKeyPackage(kp.publicPackage)),
        init_private_key: toBase64(kp.privatePackage.initPrivateKey),
        hpke_private_key: toBase64(kp.privatePackage.hpkePrivateKey)
      })),
      groups: [...keys.groups].map(([dm_id, state]) => ({ dm_id, state: toBase64(Mls.encodeState(state)) }))
    }
    return utf8(yield* Schema.encode(LeafBundleJson)(bundle).pipe(Effect.orDie))
  })

/** The keys back, for the same user only: a bundle of another account is refused. */
export const fromBytes = (userId: UserId, bytes: Uint8Array) =>
  Effect.gen(function* () {
    const bundle = yield* Schema.decodeUnknown(LeafBundleJson)(new TextDecoder().decode(bytes)).pipe(
      Effect.mapError(() => new MlsFailure({ message: "not a leaf key bundle" }))
    )
    if (bundle.user_id !== userId) return yield* new MlsFailure({ message: "the leaf key bundle is another user's" })
    const leaf: Mls.LeafKey = {
      identity: fromBase64(bundle.identity),
      publicKey: fromBase64(bundle.public_key),
      signKey: fromBase64(bundle.sign_key)
    }
    const keyPackages: Array<Mls.KeyPackageSecret> = []
    for (const kp of bundle.key_packages) {
      keyPackages.push({
        publicPackage: yield* Mls.decodeKeyPackage(fromBase64(kp.key_package)),
        privatePackage: {
          initPrivateKey: fromBase64(kp.init_private_key),
          hpkePrivateKey: fromBase64(kp.hpke_private_key),
          signaturePrivateKey: leaf.signKey
        }
      })
    }
    const groups = new Map<DmId, Mls.GroupState>()
    for (const g of bundle.groups) groups.set(g.dm_id, yield* Mls.decodeState(fromBase64(g.state)))
    const keys: DeviceKeys = { leaf, keyPackages, groups }
    return keys
  })
