// The leaf key bundle that pairing and backup seal: it carries the leaf key, the unused key packages
// and the group states, so the receiving device reads the DM; another account's bundle is refused.
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { fromBytes, toBytes } from "../../src/client/e2ee/leafBundle.js"
import * as Mls from "../../src/client/e2ee/mls.js"
import type { DmId, UserId } from "../../src/protocol/ids.js"

const bytes = (s: string) => new TextEncoder().encode(s)

describe("leaf key bundle", () => {
  it.effect("a copy of the keys reads the group and joins from the key packages", () =>
    Effect.gen(function* () {
      const aliceLeaf = yield* Mls.generateLeafKey(1)
      const bobLeaf = yield* Mls.generateLeafKey(2)
      const bobPackage = yield* Mls.generateKeyPackage(bobLeaf)
      const spare = yield* Mls.generateKeyPackage(aliceLeaf)
      const added = yield* Mls.addMembers(yield* Mls.createGroup(bytes("dm-9"), aliceLeaf), [bobPackage.publicPackage])
      const bob = (yield* Mls.joinFromWelcome(added.welcome, [bobPackage])).state

      const packed = yield* toBytes(1 as UserId, {
        leaf: aliceLeaf,
        keyPackages: [spare],
        groups: new Map([[9 as DmId, added.state]])
      })
      const copy = yield* fromBytes(1 as UserId, packed)
      expect(Buffer.from(copy.leaf.publicKey).equals(Buffer.from(aliceLeaf.publicKey))).toBe(true)
      expect(copy.keyPackages).toHaveLength(1)

      const fromBob = yield* Mls.encrypt(bob, bytes("to both of your devices"))
      const read = yield* Mls.processMessage(copy.groups.get(9 as DmId)!, fromBob.message)
      if (read.kind !== "application") return expect.fail("expected an application message")
      expect(new TextDecoder().decode(read.plaintext)).toBe("to both of your devices")

      // the copied key package still joins a group made for it
      const other = yield* Mls.addMembers(yield* Mls.createGroup(bytes("dm-10"), bobLeaf), [spare.publicPackage])
      expect(Mls.epoch((yield* Mls.joinFromWelcome(other.welcome, copy.keyPackages)).state)).toBe(1n)

      expect((yield* Effect.flip(fromBytes(2 as UserId, packed)))._tag).toBe("MlsFailure")
      expect((yield* Effect.flip(fromBytes(1 as UserId, bytes("{}"))))._tag).toBe("MlsFailure")
    }))
})
