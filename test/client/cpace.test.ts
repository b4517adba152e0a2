// CPace pairing crypto (seed 002 §8): both devices derive one key from the right code, different keys
// from a wrong one, confirmations then fail on both sides, and the sealed leaf key opens only with
// the right session key.
import { describe, expect, it } from "@effect/vitest"
import { Effect, Either } from "effect"
import * as CPace from "../../src/client/e2ee/cpace.js"

const PAIR = "pair_0123456789abcdefXYZ"

const exchange = (initiatorCode: string, responderCode: string) =>
  Effect.gen(function* () {
    const newDevice = CPace.start("initiator", initiatorCode, PAIR)
    const existing = CPace.start("responder", responderCode, PAIR)
    const skNew = yield* CPace.sessionKey(newDevice, existing.share)
    const skExisting = yield* CPace.sessionKey(existing, newDevice.share)
    return { skNew, skExisting, newDevice, existing }
  })

describe("CPace pairing", () => {
  it("pairing codes are 6 decimal digits", () => {
    for (let i = 0; i < 200; i++) expect(CPace.generatePairingCode()).toMatch(/^\d{6}$/)
  })

  it.effect("both sides derive the same 32-byte key with the right code, and confirm each other", () =>
    Effect.gen(function* () {
      const { skNew, skExisting, newDevice, existing } = yield* exchange("482913", "482913")
      expect(skNew).toHaveLength(32)
      expect(Buffer.from(skNew).equals(Buffer.from(skExisting))).toBe(true)
      // shares are fresh each time, and are not the code in any form
      expect(Buffer.from(newDevice.share).equals(Buffer.from(existing.share))).toBe(false)
      yield* CPace.verifyConfirmation(skExisting, "initiator", PAIR, CPace.confirmation(skNew, "initiator", PAIR))
      yield* CPace.verifyConfirmation(skNew, "responder", PAIR, CPace.confirmation(skExisting, "responder", PAIR))
      // a confirmation is bound to its side: a reflected one does not pass
      const reflected = yield* Effect.either(
        CPace.verifyConfirmation(skNew, "responder", PAIR, CPace.confirmation(skNew, "initiator", PAIR))
      )
      expect(Either.isLeft(reflected)).toBe(true)
    }))

  it.effect("a wrong code gives different keys and both confirmations fail", () =>
    Effect.gen(function* () {
      const { skNew, skExisting } = yield* exchange("482914", "482913")
      expect(Buffer.from(skNew).equals(Buffer.from(skExisting))).toBe(false)
      const atExisting = yield* Effect.flip(
        CPace.verifyConfirmation(skExisting, "initiator", PAIR, CPace.confirmation(skNew, "initiator", PAIR))
      )
      const atNew = yield* Effect.flip(
        CPace.verifyConfirmation(skNew, "responder", PAIR, CPace.confirmation(skExisting, "responder", PAIR))
      )
      expect(atExisting._tag).toBe("CPaceConfirmationFailed")
      expect(atNew._tag).toBe("CPaceConfirmationFailed")
    }))

  it.effect("the same code in another pairing gives another key", () =>
    Effect.gen(function* () {
      const a = CPace.start("initiator", "111111", PAIR)
      const b = CPace.start("responder", "111111", "pair_other0123456789abc")
      const ka = yield* CPace.sessionKey(a, b.share)
      const kb = yield* CPace.sessionKey(b, a.share)
      expect(Buffer.from(ka).equals(Buffer.from(kb))).toBe(false)
    }))

  it.effect("a share that is not a group element, or the identity, is refused", () =>
    Effect.gen(function* () {
      const me = CPace.start("initiator", "123456", PAIR)
      const garbage = yield* Effect.flip(CPace.sessionKey(me, new Uint8Array(32).fill(0xff)))
      expect(garbage._tag).toBe("CPaceShareInvalid")
      const identity = yield* Effect.flip(CPace.sessionKey(me, new Uint8Array(32)))
      expect(identity._tag).toBe("CPaceShareInvalid")
    }))

  it.effect("the sealed leaf key opens with the session key only", () =>
    Effect.gen(function* () {
      const right = yield* exchange("000042", "000042")
      const wrong = yield* exchange("000043", "000042")
      const leaf = crypto.getRandomValues(new Uint8Array(96))
      const box = yield* CPace.sealLeaf(right.skExisting, PAIR, leaf)
      const opened = yield* CPace.openLeaf(right.skNew, PAIR, box.nonce, box.ciphertext)
      expect(Buffer.from(opened).equals(Buffer.from(leaf))).toBe(true)
      const refused = yield* Effect.flip(CPace.openLeaf(wrong.skNew, PAIR, box.nonce, box.ciphertext))
      expect(refused._tag).toBe("SealedBoxUndecryptable")
      const otherPairing = yield* Effect.flip(CPace.openLeaf(right.skNew, "pair_other0123456789abc", box.nonce, box.ciphertext))
      expect(otherPairing._tag).toBe("SealedBoxUndecryptable")
    }))
})
