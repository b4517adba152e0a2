// Recovery codes (reference security/two-factor.md): 8 single-use `XXXX-XXXX` codes. The alphabet
// leaves out 0/O and 1/I, which people misread when typing a code from paper: 32 symbols, 40 bits a code.
import { Option } from "effect"
import { randomInt } from "node:crypto"

export const RECOVERY_CODE_COUNT = 8
const ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"

const block = () => Array.from({ length: 4 }, () => ALPHABET[randomInt(ALPHABET.length)]).join("")

/** A fresh set, as shown to the user (once). */
export const newRecoveryCodes = (): Array<string> =>
  Array.from({ length: RECOVERY_CODE_COUNT }, () => `${block()}-${block()}`)

/**
 * The canonical form a code is hashed in: upper case, without the dash or spaces; none for anything
 * that cannot be a recovery code at all.
 */
export const normalizeRecoveryCode = (input: string): Option.Option<string> => {
  const compact = input.toUpperCase().replace(/[\s-]/g, "")
  return compact.length === 8 && [...compact].every((c) => ALPHABET.includes(c)) ? Option.some(compact) : Option.none()
}
