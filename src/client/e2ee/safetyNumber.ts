// Safety numbers, seed 002 §8: fingerprint = SHA-256(sort(alice_identity_key, bob_identity_key)),
// shown as 12 groups of 5 digits. The seed leaves the digits open; we read the 32-byte fingerprint as
// one big-endian number and take it mod 10^60 (bias below 2^-56), so both users see the same 60
// digits and any change of either key changes them.
import { sha256 } from "@noble/hashes/sha2.js"

export const GROUPS = 12
export const GROUP_DIGITS = 5

/** Bytewise order, shorter first on a common prefix: the order both sides agree on. */
const compareBytes = (a: Uint8Array, b: Uint8Array) => {
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return a[i]! - b[i]!
  return a.length - b.length
}

export const fingerprint = (identityKeyA: Uint8Array, identityKeyB: Uint8Array) => {
  const [first, second] = compareBytes(identityKeyA, identityKeyB) <= 0
    ? [identityKeyA, identityKeyB]
    : [identityKeyB, identityKeyA]
  const joined = new Uint8Array(first.length + second.length)
  joined.set(first)
  joined.set(second, first.length)
  return sha256(joined)
}

/** The 12 groups of 5 digits, the same for both users whichever way round they are given. */
export const safetyNumber = (identityKeyA: Uint8Array, identityKeyB: Uint8Array): ReadonlyArray<string> => {
  let n = 0n
  for (const byte of fingerprint(identityKeyA, identityKeyB)) n = (n << 8n) | BigInt(byte)
  const digits = (n % 10n ** BigInt(GROUPS * GROUP_DIGITS)).toString().padStart(GROUPS * GROUP_DIGITS, "0")
  return Array.from({ length: GROUPS }, (_, i) => digits.slice(i * GROUP_DIGITS, (i + 1) * GROUP_DIGITS))
}

/** As displayed: three rows of four groups. */
export const formatSafetyNumber = (groups: ReadonlyArray<string>) =>
  [0, 4, 8].map((at) => groups.slice(at, at + 4).join(" ")).join("\n")
