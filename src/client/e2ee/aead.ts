// AES-256-GCM through WebCrypto (Node 20 and browsers alike), the seed 002 §8 cipher for leaf transfer
// and key backup. The additional data binds a box to its context (the pairing, the account).
import { Effect } from "effect"
import { SealedBoxUndecryptable } from "./errors.js"

export const NONCE_BYTES = 12

const importKey = (key: Uint8Array, usage: "encrypt" | "decrypt") =>
  Effect.promise(() => crypto.subtle.importKey("raw", key, { name: "AES-GCM" }, false, [usage]))

export const randomBytes = (n: number) => crypto.getRandomValues(new Uint8Array(n))

export const seal = (key: Uint8Array, plaintext: Uint8Array, additionalData: Uint8Array) =>
  Effect.gen(function* () {
    const nonce = randomBytes(NONCE_BYTES)
    const cryptoKey = yield* importKey(key, "encrypt")
    const ciphertext = yield* Effect.promise(() =>
      crypto.subtle.encrypt({ name: "AES-GCM", iv: nonce, additionalData }, cryptoKey, plaintext))
    return { nonce, ciphertext: new Uint8Array(ciphertext) }
  })

export const open = (key: Uint8Array, nonce: Uint8Array, ciphertext: Uint8Array, additionalData: Uint8Array) =>
  Effect.gen(function* () {
    const cryptoKey = yield* importKey(key, "decrypt")
    const plaintext = yield* Effect.tryPromise({
      try: () => crypto.subtle.decrypt({ name: "AES-GCM", iv: nonce, additionalData }, cryptoKey, ciphertext),
      catch: () => new SealedBoxUndecryptable({ message: "the box does not open with this key" })
    })
    return new Uint8Array(plaintext)
  })
