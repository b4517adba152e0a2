// Second factors (reference security/two-factor.md): TOTP secrets sealed with the server key,
// recovery codes as keyed hashes, WebAuthn credentials, and the short-lived rows of the flows that
// lead to them (setups, login tickets, WebAuthn challenges). Everything goes with its account.
import { SqlClient } from "@effect/sql"
import { Effect } from "effect"

export default Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient

  // last_time_step: the RFC 6238 time step of the last code accepted; a code of that step or an
  // earlier one is refused, so an accepted code cannot be replayed within its window.
  yield* sql`CREATE TABLE totp_secrets (
    user_id BIGINT PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    sealed_secret TEXT NOT NULL,
    last_time_step BIGINT NOT NULL,
    created_at BIGINT NOT NULL
  )`

  // One row per unused code: using a code deletes its row, so only one of concurrent uses succeeds.
  yield* sql`CREATE TABLE recovery_codes (
    user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    code_hash TEXT NOT NULL,
    PRIMARY KEY (user_id, code_hash)
  )`

  // id: the credential id, base64url. sign_count only ever grows (a clone is caught by its counter).
  yield* sql`CREATE TABLE webauthn_credentials (
    id TEXT PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    public_key TEXT NOT NULL,
    sign_count BIGINT NOT NULL,
    transports TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    last_used_at BIGINT
  )`
  yield* sql`CREATE INDEX webauthn_credentials_user ON webauthn_credentials (user_id)`

  // A pending POST /auth/2fa/setup: the sealed TOTP secret, or the WebAuthn registration challenge.
  // Only the SHA-256 of the setup_id is kept.
  yield* sql`CREATE TABLE mfa_setups (
    id_hash TEXT PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    method TEXT NOT NULL,
    payload TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    expires_at BIGINT NOT NULL
  )`
  yield* sql`CREATE INDEX mfa_setups_expiry ON mfa_setups (expires_at)`

  // The mfa_ticket of a password login waiting for its second factor (SHA-256 only). attempts counts
  // every try, in the database, so the limit holds across restarts and nodes.
  yield* sql`CREATE TABLE mfa_tickets (
    ticket_hash TEXT PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    attempts INTEGER NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
  )`
  yield* sql`CREATE INDEX mfa_tickets_expiry ON mfa_tickets (expires_at)`
  yield* sql`CREATE INDEX mfa_tickets_user ON mfa_tickets (user_id)`

  // WebAuthn login challenges: single use (taking one deletes it), short-lived.
  yield* sql`CREATE TABLE webauthn_challenges (
    id TEXT PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    challenge TEXT NOT NULL UNIQUE,
    expires_at BIGINT NOT NULL
  )`
  yield* sql`CREATE INDEX webauthn_challenges_expiry ON webauthn_challenges (expires_at)`
  yield* sql`CREATE INDEX webauthn_challenges_user ON webauthn_challenges (user_id)`
})
