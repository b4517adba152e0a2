// Key backup for when every device is lost, seed 002 §8 "Recovery": a 12-word BIP39 phrase the user
// keeps, K = Argon2id(phrase, user_id_salt), the leaf key sealed with K (AES-256-GCM) and stored on
// the server as an opaque blob. The blob names its Argon2id cost so a later client with other
// defaults still opens it.
//
// Argon2id runs on the native `argon2` package the server already uses (about 0.6 s for the cost
// below; @noble/hashes' pure-JS argon2id needs about 12 s for the same on this hardware). Argon2id is
// standardised (RFC 9106), so a browser client deriving with @noble/hashes gets the same K: the tests
// check both implementations agree.
import { generateMnemonic, validateMnemonic } from "@scure/bip39"
import { wordlist } from "@scure/bip39/wordlists/english.js"
import argon2 from "argon2"
import { Effect } from "effect"
import * as Aead from "./aead.js"
import { concat } from "./bytes.js"
import { RecoveryPhraseInvalid, SealedBoxUndecryptable } from "./errors.js"

/** 128 bits of entropy: 12 words. */
const ENTROPY_BITS = 128
const MAGIC = new TextEncoder().encode("VXB1")
const HEADER_BYTES = MAGIC.length + 4 + 4 + 1

export interface Argon2idCost {
  /** KiB */
  readonly memory: number
  readonly passes: number
  readonly lanes: number
}

/** RFC 9106 §4, second recommended option: 64 MiB, 3 passes, 4 lanes. */
export const DEFAULT_COST: Argon2idCost = { memory: 64 * 1024, passes: 3, lanes: 4 }

export const generateRecoveryPhrase = () => generateMnemonic(wordlist, ENTROPY_BITS)

/** Lower case, single spaces: how a phrase is typed back should not matter. */
export const normalizePhrase = (phrase: string) => phrase.trim().toLowerCase().split(/\s+/).join(" ")

/** "user_id_salt": the account's id under a fixed label (Argon2 wants at least 8 bytes of salt). */
export const recoverySalt = (userId: number) => new TextEncoder().encode(`vox-recovery:${userId}`)

const checkPhrase = (phrase: string) => {
  const normal = normalizePhrase(phrase)
  return normal.split(" ").length === 12 && validateMnemonic(normal, wordlist)
    ? Effect.succeed(normal)
    : Effect.fail(new RecoveryPhraseInvalid({ message: "a recovery phrase is 12 words from the BIP39 English list" }))
}

export const deriveBackupKey = (phrase: string, userId: number, cost: Argon2idCost = DEFAULT_COST) =>
  Effect.flatMap(checkPhrase(phrase), (normal) =>
    Effect.promise(async () =>
      new Uint8Array(await argon2.hash(normal, {
        type: argon2.argon2id,
        raw: true,
        salt: Buffer.from(recoverySalt(userId)),
        memoryCost: cost.memory,
        timeCost: cost.passes,
        parallelism: cost.lanes,
        hashLength: 32
      }))))

const header = (cost: Argon2idCost) => {
  const out = new Uint8Array(HEADER_BYTES)
  const view = new DataView(out.buffer)
  out.set(MAGIC)
  view.setUint32(MAGIC.length, cost.memory)
  view.setUint32(MAGIC.length + 4, cost.passes)
  view.setUint8(MAGIC.length + 8, cost.lanes)
  return out
}

/** The blob for PUT /keys/backup: header (cost) | nonce | AES-256-GCM(K, leaf), header and account bound. */
export const sealBackup = (phrase: string, userId: number, leaf: Uint8Array, cost: Argon2idCost = DEFAULT_COST) =>
  Effect.gen(function* () {
    const key = yield* deriveBackupKey(phrase, userId, cost)
    const head = header(cost)
    const { nonce, ciphertext } = yield* Aead.seal(key, leaf, concat(head, recoverySalt(userId)))
    return concat(head, nonce, ciphertext)
  })

/** The leaf key back from the blob; a wrong phrase (or another account's blob) does not open it. */
export const openBackup = (phrase: string, userId: number, blob: Uint8Array) =>
  Effect.gen(function* () {
    const malformed = new SealedBoxUndecryptable({ message: "this is not a Vox key backup" })
    if (blob.length < HEADER_BYTES + Aead.NONCE_BYTES + 16) return yield* malformed
    if (!MAGIC.every((b, i) => blob[i] === b)) return yield* malformed
    const view = new DataView(blob.buffer, blob.byteOffset, blob.byteLength)
    const cost: Argon2idCost = {
      memory: view.getUint32(MAGIC.length),
      passes: view.getUint32(MAGIC.length + 4),
      lanes: view.getUint8(MAGIC.length + 8)
    }
    // A tampered header must not make us spend unbounded memory or time before failing.
    if (cost.memory < 8 * cost.lanes || cost.memory > 4 * 1024 * 1024 || cost.passes < 1 || cost.passes > 64 || cost.lanes < 1) {
      return yield* malformed
    }
    const key = yield* deriveBackupKey(phrase, userId, cost)
    const nonce = blob.subarray(HEADER_BYTES, HEADER_BYTES + Aead.NONCE_BYTES)
    return yield* Aead.open(key, nonce, blob.subarray(HEADER_BYTES + Aead.NONCE_BYTES), concat(blob.subarray(0, HEADER_BYTES), recoverySalt(userId)))
  })

export type RecoveryError = RecoveryPhraseInvalid | SealedBoxUndecryptable
