// Safety numbers exactly as seed 002 §8 computes them: SHA-256 over the two identity keys in sorted
// order, shown as 12 groups of 5 digits, the same for both users.
import { describe, expect, it } from "@effect/vitest"
import { createHash } from "node:crypto"
import { fingerprint, formatSafetyNumber, safetyNumber } from "../../src/client/e2ee/safetyNumber.js"

const alice = Uint8Array.from(Buffer.from("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", "hex"))
const bob = Uint8Array.from(Buffer.from("3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c", "hex"))

describe("safety numbers", () => {
  it("fingerprint is SHA-256 of the two keys sorted bytewise", () => {
    // bob's key sorts first (0x3d < 0xd7)
    const expected = createHash("sha256").update(Buffer.concat([bob, alice])).digest()
    expect(Buffer.from(fingerprint(alice, bob)).equals(expected)).toBe(true)
    expect(Buffer.from(fingerprint(bob, alice)).equals(expected)).toBe(true)
  })

  it("is 12 groups of 5 digits: the fingerprint as a big-endian number mod 10^60", () => {
    const groups = safetyNumber(alice, bob)
    expect(groups).toHaveLength(12)
    for (const g of groups) expect(g).toMatch(/^\d{5}$/)
    const n = BigInt("0x" + createHash("sha256").update(Buffer.concat([bob, alice])).digest("hex"))
    expect(groups.join("")).toBe((n % 10n ** 60n).toString().padStart(60, "0"))
  })

  it("both users see the same number", () => {
    expect(safetyNumber(bob, alice)).toEqual(safetyNumber(alice, bob))
    expect(formatSafetyNumber(safetyNumber(alice, bob)).split("\n")).toHaveLength(3)
  })

  it("changes when either key changes (a key reset)", () => {
    const reset = Uint8Array.from(alice)
    reset[31] ^= 1
    expect(safetyNumber(reset, bob)).not.toEqual(safetyNumber(alice, bob))
  })
})
