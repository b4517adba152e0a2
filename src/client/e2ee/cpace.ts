// CPace device pairing, seed 002 §8 "Device Pairing: CPace Method": the new device (initiator) and an
// existing device (responder) turn the 6-digit code the existing device shows into a shared key the
// server relaying their messages cannot learn. The group and hash are the draft-irtf-cfrg-cpace
// ristretto255/SHA-512 suite (generator from the code, ephemeral scalars, ISK over the transcript);
// the seed's table then fixes the rest: sk = HKDF-SHA256(ISK, salt = pair_id, info =
// "vox-cpace-session"), confirmation HMAC-SHA256(sk, side || pair_id), leaf transfer AES-256-GCM.
import { ristretto255, ristretto255_hasher } from "@noble/curves/ed25519.js"
import { hkdf } from "@noble/hashes/hkdf.js"
import { hmac } from "@noble/hashes/hmac.js"
import { sha256, sha512 } from "@noble/hashes/sha2.js"
import { Effect } from "effect"
import * as Aead from "./aead.js"
import { concat, utf8 } from "./bytes.js"
import { CPaceConfirmationFailed, CPaceShareInvalid } from "./errors.js"

export const CODE_DIGITS = 6
export const SESSION_INFO = "vox-cpace-session"
/** The seed's pairing timeout: a pairing not finished by then is abandoned by both devices. */
export const PAIRING_TIMEOUT = "5 minutes"

const DSI = utf8("CPaceRistretto255")
/** SHA-512's input block: the generator string pads the code's block to it (draft §7.1). */
const HASH_BLOCK_BYTES = 128
/** Fixes the protocol's use of CPace, so a share from another protocol never matches. */
const CHANNEL_ID = utf8("vox-device-pairing")

export type Side = "initiator" | "responder"

/** The code the existing device shows: 6 decimal digits, uniform (rejection sampling, no modulo bias). */
export const generatePairingCode = (): string => {
  const limit = Math.floor(0x1_0000_0000 / 10 ** CODE_DIGITS) * 10 ** CODE_DIGITS
  for (;;) {
    const [n] = crypto.getRandomValues(new Uint32Array(1))
    if (n! < limit) return String(n! % 10 ** CODE_DIGITS).padStart(CODE_DIGITS, "0")
  }
}

/** One side's half of the exchange: its share goes to the peer, the scalar never leaves. */
export interface CPaceParty {
  readonly side: Side
  readonly pairId: string
  readonly share: Uint8Array
  readonly scalar: bigint
}

export const start = (side: Side, code: string, pairId: string): CPaceParty => {
  const generator = deriveElement(sha512(generatorString(utf8(code), utf8(pairId))))
  const scalar = randomScalar()
  return { side, pairId, share: generator.multiply(scalar).toBytes(), scalar }
}

/** sk from the peer's share; fails on a share that is not a group element or gives the identity. */
export const sessionKey = (party: CPaceParty, peerShare: Uint8Array) =>
  Effect.gen(function* () {
    const peer = yield* Effect.try({
      try: () => ristretto255.Point.fromBytes(peerShare),
      catch: () => new CPaceShareInvalid({ message: "the peer's share is not a ristretto255 element" })
    })
    const k = peer.multiply(party.scalar)
    if (k.is0()) return yield* new CPaceShareInvalid({ message: "the peer's share gives the identity element" })
    const [ya, yb] = party.side === "initiator" ? [party.share, peerShare] : [peerShare, party.share]
    const sid = utf8(party.pairId)
    // ISK = H(lv_cat(DSI || "_ISK", sid, K) || transcript_ir(Ya, ADa, Yb, ADb)), empty associated data.
    const isk = sha512(concat(
      lvCat(concat(DSI, utf8("_ISK")), sid, k.toBytes()),
      lvCat(ya, new Uint8Array(0)),
      lvCat(yb, new Uint8Array(0))
    ))
    return hkdf(sha256, isk, sid, utf8(SESSION_INFO), 32)
  })

/** HMAC-SHA256(sk, side || pair_id): what `side` sends to prove it holds sk. */
export const confirmation = (sk: Uint8Array, side: Side, pairId: string) =>
  hmac(sha256, sk, concat(utf8(side), utf8(pairId)))

/** Checks the peer's confirmation in constant time. */
export const verifyConfirmation = (sk: Uint8Array, peerSide: Side, pairId: string, received: Uint8Array) => {
  const expected = confirmation(sk, peerSide, pairId)
  let diff = expected.length ^ received.length
  for (let i = 0; i < expected.length; i++) diff |= expected[i]! ^ (received[i] ?? 0)
  return diff === 0
    ? Effect.void
    : Effect.fail(new CPaceConfirmationFailed({ message: "the other device holds a different key: wrong code?" }))
}

/** The leaf key sealed for the new device (AES-256-GCM under sk, bound to the pairing). */
export const sealLeaf = (sk: Uint8Array, pairId: string, leaf: Uint8Array) =>
  Aead.seal(sk, leaf, utf8(`leaf_transfer:${pairId}`))

export const openLeaf = (sk: Uint8Array, pairId: string, nonce: Uint8Array, ciphertext: Uint8Array) =>
  Aead.open(sk, nonce, ciphertext, utf8(`leaf_transfer:${pairId}`))

// --- the draft's encodings ---

/** RFC 9496 element derivation from 64 uniform bytes (the draft's map for ristretto255). */
// (optional in noble's hasher interface, always present on the ristretto255 one)
const deriveElement = (uniform: Uint8Array) => ristretto255_hasher.deriveToCurve!(uniform)

function generatorString(prs: Uint8Array, sid: Uint8Array) {
  const zpad = Math.max(0, HASH_BLOCK_BYTES - 1 - prependLen(prs).length - prependLen(DSI).length)
  return lvCat(DSI, prs, new Uint8Array(zpad), CHANNEL_ID, sid)
}

/** Scalars from 64 random bytes reduced mod the group order (negligible bias), never zero. */
function randomScalar(): bigint {
  for (;;) {
    const bytes = crypto.getRandomValues(new Uint8Array(64))
    let n = 0n
    for (let i = bytes.length - 1; i >= 0; i--) n = (n << 8n) | BigInt(bytes[i]!)
    const s = ristretto255.Point.Fn.create(n)
    if (s !== 0n) return s
  }
}

/** LEB128 length, then the bytes. */
function prependLen(data: Uint8Array) {
  const len: Array<number> = []
  let n = data.length
  do {
    len.push((n & 0x7f) | (n >= 0x80 ? 0x80 : 0))
    n >>>= 7
  } while (n > 0)
  return concat(Uint8Array.from(len), data)
}

function lvCat(...parts: ReadonlyArray<Uint8Array>) {
  return concat(...parts.map(prependLen))
}
