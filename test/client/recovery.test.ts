// Key backup (seed 002 §8 "Recovery"): a 12-word BIP39 phrase, K = Argon2id(phrase, user id salt),
// the leaf key sealed with K. The right phrase gets the leaf back (however it is typed), a wrong
// phrase or another account's salt does not, and the native and pure-JS Argon2id agree.
import { describe, expect, it } from "@effect/vitest"
import { argon2id } from "@noble/hashes/argon2.js"
import { validateMnemonic } from "@scure/bip39"
import { wordlist } from "@scure/bip39/wordlists/english.js"
import { Effect } from "effect"
import * as Recovery from "../../src/client/e2ee/recovery.js"

/** Cheap parameters for the round trips; the default cost is exercised once. */
const CHEAP: Recovery.Argon2idCost = { memory: 1024, passes: 1, lanes: 1 }
const leaf = crypto.getRandomValues(new Uint8Array(120))

describe("recovery backup", () => {
  it("a recovery phrase is 12 valid BIP39 words, fresh each time", () => {
    const a = Recovery.generateRecoveryPhrase()
    expect(a.split(" ")).toHaveLength(12)
    expect(validateMnemonic(a, wordlist)).toBe(true)
    expect(Recovery.generateRecoveryPhrase()).not.toBe(a)
  })

  it.effect("round trip with the default Argon2id cost; the phrase may be typed in another case and spacing", () =>
    Effect.gen(function* () {
      const phrase = Recovery.generateRecoveryPhrase()
      const blob = yield* Recovery.sealBackup(phrase, 7, leaf)
      const typed = "  " + phrase.toUpperCase().split(" ").join("   ") + "\n"
      const back = yield* Recovery.openBackup(typed, 7, blob)
      expect(Buffer.from(back).equals(Buffer.from(leaf))).toBe(true)
      // the blob holds no copy of the leaf key
      expect(Buffer.from(blob).includes(Buffer.from(leaf.subarray(0, 16)))).toBe(false)
    }))

  it.effect("a wrong phrase, or another account, does not open the backup", () =>
    Effect.gen(function* () {
      const phrase = Recovery.generateRecoveryPhrase()
      const blob = yield* Recovery.sealBackup(phrase, 7, leaf, CHEAP)
      const wrong = yield* Effect.flip(Recovery.openBackup(Recovery.generateRecoveryPhrase(), 7, blob))
      expect(wrong._tag).toBe("SealedBoxUndecryptable")
      const otherUser = yield* Effect.flip(Recovery.openBackup(phrase, 8, blob))
      expect(otherUser._tag).toBe("SealedBoxUndecryptable")
      const notWords = yield* Effect.flip(Recovery.openBackup("correct horse battery staple", 7, blob))
      expect(notWords._tag).toBe("RecoveryPhraseInvalid")
      const tampered = Uint8Array.from(blob)
      tampered[tampered.length - 1]! ^= 1
      expect((yield* Effect.flip(Recovery.openBackup(phrase, 7, tampered)))._tag).toBe("SealedBoxUndecryptable")
      expect((yield* Effect.flip(Recovery.openBackup(phrase, 7, blob.subarray(0, 10))))._tag).toBe("SealedBoxUndecryptable")
    }))

  it.effect("K is standard Argon2id: the pure-JS implementation derives the same key", () =>
    Effect.gen(function* () {
      const phrase = Recovery.generateRecoveryPhrase()
      const native = yield* Recovery.deriveBackupKey(phrase, 42, CHEAP)
      const pure = argon2id(phrase, Recovery.recoverySalt(42), { m: CHEAP.memory, t: CHEAP.passes, p: CHEAP.lanes, dkLen: 32 })
      expect(Buffer.from(native).equals(Buffer.from(pure))).toBe(true)
    }))
})
