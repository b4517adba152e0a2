// SQL of TOTP secrets, recovery codes and pending setups. Every use of a one-time thing is a single
// conditional statement (UPDATE ... WHERE, DELETE ... RETURNING), so of concurrent uses exactly one wins.
import { SqlClient } from "@effect/sql"
import { Effect, Schema } from "effect"
import { decodeRows, IntColumn } from "../db/columns.js"

const TotpRow = Schema.Struct({ sealed_secret: Schema.String, last_time_step: IntColumn })
const SetupRow = Schema.Struct({
  user_id: IntColumn,
  method: Schema.Literal("totp", "webauthn"),
  payload: Schema.String,
  attempts: IntColumn,
  expires_at: IntColumn
})
const CountRow = Schema.Struct({ n: IntColumn })

/** Wrong codes a pending setup takes before it is dropped. */
export const SETUP_MAX_ATTEMPTS = 5

export const makeTwoFactorRepo = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  const count = (rows: ReadonlyArray<unknown>) => decodeRows(CountRow)(rows).pipe(Effect.map((r) => r[0]?.n ?? 0))

  const totpOf = (userId: number) =>
    sql`SELECT sealed_secret, last_time_step FROM totp_secrets WHERE user_id = ${userId}`.pipe(
      Effect.flatMap(decodeRows(TotpRow)),
      Effect.map((rows) => rows[0])
    )

  /** Enables TOTP unless it already is; false when it was. */
  const insertTotp = (userId: number, sealedSecret: string, timeStep: number) =>
    sql`INSERT INTO totp_secrets (user_id, sealed_secret, last_time_step, created_at)
      VALUES (${userId}, ${sealedSecret}, ${timeStep}, ${Date.now()})
      ON CONFLICT (user_id) DO NOTHING RETURNING user_id`.pipe(Effect.map((rows) => rows.length === 1))

  /** Records `timeStep` as used, only if it is later than the last one used: the replay guard. */
  const advanceTotp = (userId: number, timeStep: number) =>
    sql`UPDATE totp_secrets SET last_time_step = ${timeStep}
      WHERE user_id = ${userId} AND last_time_step < ${timeStep} RETURNING user_id`.pipe(
      Effect.map((rows) => rows.length === 1)
    )

  const removeTotp = (userId: number) =>
    sql`DELETE FROM totp_secrets WHERE user_id = ${userId} RETURNING user_id`.pipe(Effect.map((rows) => rows.length === 1))

  const recoveryCodesLeft = (userId: number) =>
    sql`SELECT COUNT(*) AS n FROM recovery_codes WHERE user_id = ${userId}`.pipe(Effect.flatMap(count))

  const replaceRecoveryCodes = (userId: number, hashes: ReadonlyArray<string>) =>
    Effect.gen(function* () {
      yield* sql`DELETE FROM recovery_codes WHERE user_id = ${userId}`
      yield* sql`INSERT INTO recovery_codes ${sql.insert(hashes.map((code_hash) => ({ user_id: userId, code_hash })))}`
    })

  /** Uses up a recovery code: true for the one caller that deleted it. */
  const useRecoveryCode = (userId: number, hash: string) =>
    sql`DELETE FROM recovery_codes WHERE user_id = ${userId} AND code_hash = ${hash} RETURNING user_id`.pipe(
      Effect.map((rows) => rows.length === 1)
    )

  const clearRecoveryCodes = (userId: number) => sql`DELETE FROM recovery_codes WHERE user_id = ${userId}`

  const createSetup = (setup: { idHash: string; userId: number; method: "totp" | "webauthn"; payload: string; expiresAt: number }) =>
    Effect.gen(function* () {
      yield* sql`DELETE FROM mfa_setups WHERE expires_at <= ${Date.now()}`
      yield* sql`INSERT INTO mfa_setups ${sql.insert({
        id_hash: setup.idHash,
        user_id: setup.userId,
        method: setup.method,
        payload: setup.payload,
        attempts: 0,
        expires_at: setup.expiresAt
      })}`
    })

  /** A live setup of this user, by the hash of its id. */
  const setupOf = (idHash: string, userId: number) =>
    sql`SELECT user_id, method, payload, attempts, expires_at FROM mfa_setups
      WHERE id_hash = ${idHash} AND user_id = ${userId} AND expires_at > ${Date.now()}
        AND attempts < ${SETUP_MAX_ATTEMPTS}`.pipe(
      Effect.flatMap(decodeRows(SetupRow)),
      Effect.map((rows) => rows[0])
    )

  const failSetup = (idHash: string) => sql`UPDATE mfa_setups SET attempts = attempts + 1 WHERE id_hash = ${idHash}`

  /** Finishes a setup: true for the one caller that took it. */
  const takeSetup = (idHash: string) =>
    sql`DELETE FROM mfa_setups WHERE id_hash = ${idHash} RETURNING user_id`.pipe(Effect.map((rows) => rows.length === 1))

  /** Everything second-factor of a user except WebAuthn keys (webauthn repo): the admin reset. */
  const removeAll = (userId: number) =>
    Effect.gen(function* () {
      const totp = yield* removeTotp(userId)
      const codes = yield* sql`DELETE FROM recovery_codes WHERE user_id = ${userId} RETURNING user_id`
      yield* sql`DELETE FROM mfa_setups WHERE user_id = ${userId}`
      yield* sql`DELETE FROM mfa_tickets WHERE user_id = ${userId}`
      return { totp, recovery_codes: codes.length }
    })

  return {
    totpOf,
    insertTotp,
    advanceTotp,
    removeTotp,
    recoveryCodesLeft,
    replaceRecoveryCodes,
    useRecoveryCode,
    clearRecoveryCodes,
    createSetup,
    setupOf,
    failSetup,
    takeSetup,
    removeAll
  } as const
})

export type TwoFactorRepo = Effect.Effect.Success<typeof makeTwoFactorRepo>
