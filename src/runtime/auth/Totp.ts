// TOTP as the reference fixes it (security/two-factor.md): RFC 6238 with SHA-1, 6 digits, 30 s steps,
// accepting the previous, current and next step. Pure: the caller passes the time and the replay
// floor, and stores the step a code matched.
import { Effect, Option } from "effect"
import { generateSecret, generateURI, verify } from "otplib"

const PERIOD_SECONDS = 30
const PARAMS = { algorithm: "sha1", digits: 6, period: PERIOD_SECONDS } as const

/** A new shared secret: 20 random bytes (RFC 4226's recommended 160 bits), base32 as apps expect it. */
export const newTotpSecret = (): string => generateSecret({ length: 20 })

/** The `otpauth://` URI an authenticator app reads from a QR code. */
export const totpUri = (issuer: string, account: string, secret: string): string =>
  generateURI({ issuer, label: account, secret, ...PARAMS })

/** The RFC 6238 time step of a moment. */
export const timeStepAt = (epochMs: number): number => Math.floor(epochMs / 1000 / PERIOD_SECONDS)

/**
 * The time step `code` belongs to, if it is the code of the step at `nowMs` or of the one before or
 * after it (clock skew), and that step is later than `after` (the last step accepted: replay guard).
 */
export const matchTotp = (input: {
  readonly secret: string
  readonly code: string
  readonly nowMs: number
  readonly after: number | undefined
}): Effect.Effect<Option.Option<number>> => {
  if (!/^[0-9]{6}$/.test(input.code)) return Effect.succeed(Option.none())
  return Effect.promise(() =>
    verify({
      secret: input.secret,
      token: input.code,
      ...PARAMS,
      epoch: Math.floor(input.nowMs / 1000),
      // ±30 s around now covers exactly the previous, current and next step
      epochTolerance: PERIOD_SECONDS,
      ...(input.after === undefined ? {} : { afterTimeStep: input.after })
    })
  ).pipe(Effect.map((result) => (result.valid && "timeStep" in result ? Option.some(result.timeStep) : Option.none())))
}
