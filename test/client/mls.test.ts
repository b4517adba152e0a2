// The SDK's MLS layer in one process (seed 002 §8 "MLS DM Flow"): a DM of two and a group of three
// built from key packages as they travel (bytes), messages read by every other member, epochs that
// advance with each add and remove, and a removed member unable to read what follows.
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import * as Mls from "../../src/client/e2ee/mls.js"

const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes)
const bytes = (s: string) => new TextEncoder().encode(s)

/** A user with a leaf key and one published key package (as bytes, the way the server hands it out). */
const user = (id: number) =>
  Effect.gen(function* () {
    const leaf = yield* Mls.generateLeafKey(id)
    const secret = yield* Mls.generateKeyPackage(leaf)
    return { leaf, secrets: [secret], published: Mls.encodeKeyPackage(secret.publicPackage) }
  })

describe("MLS groups", () => {
  it.effect("two members: Welcome, messages both ways, the same epoch", () =>
    Effect.gen(function* () {
      const alice = yield* user(1)
      const bob = yield* user(2)
      let a = yield* Mls.createGroup(bytes("dm-1"), alice.leaf)
      expect(Mls.epoch(a)).toBe(0n)
      const added = yield* Mls.addMembers(a, [yield* Mls.decodeKeyPackage(bob.published)])
      a = added.state
      let b = (yield* Mls.joinFromWelcome(added.welcome, bob.secrets)).state
      expect(Mls.epoch(a)).toBe(1n)
      expect(Mls.epoch(b)).toBe(1n)
      expect(Mls.memberLeaves(b).map((m) => text(m.identity))).toEqual(["1", "2"])
      expect(Buffer.from(Mls.memberLeaves(b)[0]!.publicKey).equals(Buffer.from(alice.leaf.publicKey))).toBe(true)

      const hi = yield* Mls.encrypt(a, bytes("hi bob"))
      a = hi.state
      expect(Buffer.from(hi.message).includes(Buffer.from("hi bob"))).toBe(false)
      const read = yield* Mls.processMessage(b, hi.message)
      expect(read.kind).toBe("application")
      if (read.kind === "application") expect(text(read.plaintext)).toBe("hi bob")
      b = read.state
      const back = yield* Mls.encrypt(b, bytes("hi alice"))
      const readBack = yield* Mls.processMessage(a, back.message)
      if (readBack.kind !== "application") return expect.fail("expected an application message")
      expect(text(readBack.plaintext)).toBe("hi alice")
    }))

  it.effect("three members: adding and removing advance the epoch; the removed member reads nothing after", () =>
    Effect.gen(function* () {
      const alice = yield* user(1)
      const bob = yield* user(2)
      const carol = yield* user(3)
      let a = yield* Mls.createGroup(bytes("dm-2"), alice.leaf)
      const first = yield* Mls.addMembers(a, [yield* Mls.decodeKeyPackage(bob.published)])
      a = first.state
      let b = (yield* Mls.joinFromWelcome(first.welcome, bob.secrets)).state

      // Carol joins: Bob applies the Commit, Carol the Welcome; all at epoch 2
      const second = yield* Mls.addMembers(a, [yield* Mls.decodeKeyPackage(carol.published)])
      a = second.state
      b = (yield* Mls.processMessage(b, second.commit)).state
      let c = (yield* Mls.joinFromWelcome(second.welcome, carol.secrets)).state
      expect([Mls.epoch(a), Mls.epoch(b), Mls.epoch(c)]).toEqual([2n, 2n, 2n])

      const toAll = yield* Mls.encrypt(c, bytes("hello both"))
      c = toAll.state
      for (const state of [a, b]) {
        const r = yield* Mls.processMessage(state, toAll.message)
        if (r.kind !== "application") return expect.fail("expected an application message")
        expect(text(r.plaintext)).toBe("hello both")
        if (state === a) a = r.state
        else b = r.state
      }

      // Alice removes Carol: epoch 3 for the others, Carol learns she is out
      const removal = yield* Mls.removeMembers(a, [Mls.identityOf(3)])
      a = removal.state
      b = (yield* Mls.processMessage(b, removal.commit)).state
      const carolAfter = yield* Mls.processMessage(c, removal.commit)
      expect(Mls.isMember(carolAfter.state)).toBe(false)
      expect([Mls.epoch(a), Mls.epoch(b)]).toEqual([3n, 3n])
      expect(Mls.memberLeaves(a).map((m) => text(m.identity))).toEqual(["1", "2"])

      const secret = yield* Mls.encrypt(a, bytes("without carol"))
      const bobReads = yield* Mls.processMessage(b, secret.message)
      if (bobReads.kind !== "application") return expect.fail("expected an application message")
      expect(text(bobReads.plaintext)).toBe("without carol")
      // Carol, with the state she had before and the one after the removal, cannot read it
      expect((yield* Effect.flip(Mls.processMessage(c, secret.message)))._tag).toBe("MlsFailure")
      expect((yield* Effect.flip(Mls.processMessage(carolAfter.state, secret.message)))._tag).toBe("MlsFailure")
    }))

  it.effect("group state survives encoding; a Welcome for someone else and garbage are refused", () =>
    Effect.gen(function* () {
      const alice = yield* user(1)
      const bob = yield* user(2)
      const mallory = yield* user(4)
      const a = yield* Mls.createGroup(bytes("dm-3"), alice.leaf)
      const added = yield* Mls.addMembers(a, [yield* Mls.decodeKeyPackage(bob.published)])
      const restored = yield* Mls.decodeState(Mls.encodeState(added.state))
      const msg = yield* Mls.encrypt(restored, bytes("after restore"))
      const b = (yield* Mls.joinFromWelcome(added.welcome, bob.secrets)).state
      const r = yield* Mls.processMessage(b, msg.message)
      if (r.kind !== "application") return expect.fail("expected an application message")
      expect(text(r.plaintext)).toBe("after restore")
      expect((yield* Effect.flip(Mls.joinFromWelcome(added.welcome, mallory.secrets)))._tag).toBe("MlsFailure")
      expect((yield* Effect.flip(Mls.processMessage(b, bytes("not mls"))))._tag).toBe("MlsFailure")
      expect((yield* Effect.flip(Mls.decodeKeyPackage(bytes("junk"))))._tag).toBe("MlsFailure")
    }))
})
