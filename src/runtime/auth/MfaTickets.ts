// The mfa_ticket of a password login waiting for its second factor (reference security/two-factor.md
// "Login Flow with 2FA", "Brute-Force Protection"). Only its SHA-256 is stored. Every attempt is
// counted in the database before the factor is checked, so neither parallel guesses nor a restart
// get past the limit; the ticket then answers 2FA_MAX_ATTEMPTS until it expires. It is not a session
// token: its prefix and table are its own, and authentication never looks at them.
import { SqlClient } from "@effect/sql"
import { Effect, Schema } from "effect"
import { createHash, randomBytes } from "node:crypto"
import { MFA_TICKET_PREFIX } from "../../protocol/api/auth.js"
import { AuthFailed, TwoFactorMaxAttempts } from "../../protocol/errors.js"
import { UserId } from "../../protocol/ids.js"
import { decodeRows, IntColumn } from "../db/columns.js"

export const TICKET_TTL_MS = 5 * 60_000
export const TICKET_MAX_ATTEMPTS = 5

const hashTicket = (ticket: string) => createHash("sha256").update(ticket, "utf8").digest("hex")

const ClaimRow = Schema.Struct({ user_id: Schema.compose(IntColumn, UserId), attempts: IntColumn })
const StateRow = Schema.Struct({ attempts: IntColumn, expires_at: IntColumn })

/** A claimed attempt: whose ticket, and whether it was the last one allowed. */
export interface Attempt {
  readonly ticketHash: string
  readonly userId: UserId
  readonly last: boolean
}

export const makeMfaTickets = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient

  const issue = (userId: number) =>
    Effect.gen(function* () {
      const ticket = MFA_TICKET_PREFIX + randomBytes(32).toString("base64url")
      const now = Date.now()
      yield* sql`DELETE FROM mfa_tickets WHERE expires_at <= ${now}`
      yield* sql`INSERT INTO mfa_tickets ${sql.insert({
        ticket_hash: hashTicket(ticket),
        user_id: userId,
        attempts: 0,
        created_at: now,
        expires_at: now + TICKET_TTL_MS
      })}`
      return ticket
    })

  const expired = new AuthFailed({ message: "The login ticket is invalid or has expired; log in again." })

  /** Counts one attempt on a live ticket, or says why there is none to count. */
  const claim = (ticket: string) =>
    Effect.gen(function* () {
      const ticketHash = hashTicket(ticket)
      const now = Date.now()
      const rows = yield* sql`UPDATE mfa_tickets SET attempts = attempts + 1
        WHERE ticket_hash = ${ticketHash} AND attempts < ${TICKET_MAX_ATTEMPTS} AND expires_at > ${now}
        RETURNING user_id, attempts`.pipe(Effect.flatMap(decodeRows(ClaimRow)))
      const claimed = rows[0]
      if (claimed !== undefined) {
        const attempt: Attempt = { ticketHash, userId: claimed.user_id, last: claimed.attempts >= TICKET_MAX_ATTEMPTS }
        return attempt
      }
      const state = (yield* sql`SELECT attempts, expires_at FROM mfa_tickets WHERE ticket_hash = ${ticketHash}`.pipe(
        Effect.flatMap(decodeRows(StateRow))
      ))[0]
      if (state !== undefined && state.expires_at > now) return yield* new TwoFactorMaxAttempts()
      return yield* expired
    })

  /** Ends a ticket after its second factor passed: false when another attempt already did. */
  const consume = (attempt: Attempt) =>
    sql`DELETE FROM mfa_tickets WHERE ticket_hash = ${attempt.ticketHash} AND expires_at > ${Date.now()}
      RETURNING user_id`.pipe(Effect.map((rows) => rows.length === 1))

  return { issue, claim, consume, expired } as const
})

export type MfaTickets = Effect.Effect.Success<typeof makeMfaTickets>
