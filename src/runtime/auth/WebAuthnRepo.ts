// SQL of WebAuthn credentials and login challenges. A challenge is taken (deleted) by whoever uses it
// first, and a signature counter only moves up, both in one conditional statement.
import { SqlClient } from "@effect/sql"
import { Effect, Schema } from "effect"
import { decodeRows, IntColumn, JsonColumn } from "../db/columns.js"

const CredentialRow = Schema.Struct({
  id: Schema.String,
  user_id: IntColumn,
  name: Schema.String,
  public_key: Schema.String,
  sign_count: IntColumn,
  transports: JsonColumn(Schema.Array(Schema.String)),
  created_at: IntColumn,
  last_used_at: Schema.NullOr(IntColumn)
})
export type CredentialRow = typeof CredentialRow.Type

const ChallengeRow = Schema.Struct({ user_id: IntColumn, challenge: Schema.String, expires_at: IntColumn })
const CountRow = Schema.Struct({ n: IntColumn })

const COLUMNS = "id, user_id, name, public_key, sign_count, transports, created_at, last_used_at"

export const makeWebAuthnRepo = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient

  const credentialsOf = (userId: number) =>
    sql`SELECT ${sql.literal(COLUMNS)} FROM webauthn_credentials WHERE user_id = ${userId} ORDER BY created_at, id`.pipe(
      Effect.flatMap(decodeRows(CredentialRow))
    )

  const credentialCount = (userId: number) =>
    sql`SELECT COUNT(*) AS n FROM webauthn_credentials WHERE user_id = ${userId}`.pipe(
      Effect.flatMap(decodeRows(CountRow)),
      Effect.map((rows) => rows[0]?.n ?? 0)
    )

  const credential = (id: string, userId: number) =>
    sql`SELECT ${sql.literal(COLUMNS)} FROM webauthn_credentials WHERE id = ${id} AND user_id = ${userId}`.pipe(
      Effect.flatMap(decodeRows(CredentialRow)),
      Effect.map((rows) => rows[0])
    )

  /** false when the credential id is registered already (to anyone). */
  const insertCredential = (row: {
    id: string
    userId: number
    name: string
    publicKey: string
    counter: number
    transports: ReadonlyArray<string>
  }) =>
    sql`INSERT INTO webauthn_credentials (id, user_id, name, public_key, sign_count, transports, created_at, last_used_at)
      VALUES (${row.id}, ${row.userId}, ${row.name}, ${row.publicKey}, ${row.counter}, ${JSON.stringify(row.transports)},
        ${Date.now()}, NULL)
      ON CONFLICT (id) DO NOTHING RETURNING id`.pipe(Effect.map((rows) => rows.length === 1))

  /**
   * Records a use. The counter must move past the stored one, checked again here so that of two
   * assertions racing with the same counter only one counts; authenticators without a counter
   * report 0 every time.
   */
  const recordUse = (id: string, previous: number, counter: number) =>
    sql`UPDATE webauthn_credentials SET sign_count = ${counter}, last_used_at = ${Date.now()}
      WHERE id = ${id} AND sign_count = ${previous} AND (sign_count < ${counter} OR ${counter} = 0)
      RETURNING id`.pipe(Effect.map((rows) => rows.length === 1))

  const deleteCredential = (id: string, userId: number) =>
    sql`DELETE FROM webauthn_credentials WHERE id = ${id} AND user_id = ${userId} RETURNING id`.pipe(
      Effect.map((rows) => rows.length === 1)
    )

  const deleteAllCredentials = (userId: number) =>
    sql`DELETE FROM webauthn_credentials WHERE user_id = ${userId} RETURNING id`.pipe(Effect.map((rows) => rows.length))

  const createChallenge = (row: { id: string; userId: number; challenge: string; expiresAt: number }) =>
    Effect.gen(function* () {
      yield* sql`DELETE FROM webauthn_challenges WHERE expires_at <= ${Date.now()}`
      yield* sql`INSERT INTO webauthn_challenges ${sql.insert({
        id: row.id,
        user_id: row.userId,
        challenge: row.challenge,
        expires_at: row.expiresAt
      })}`
    })

  const live = (rows: ReadonlyArray<typeof ChallengeRow.Type>) => rows.find((r) => r.expires_at > Date.now())

  /** Takes a live challenge by its id: single use, whoever asks first gets it. */
  const takeChallengeById = (id: string) =>
    sql`DELETE FROM webauthn_challenges WHERE id = ${id} RETURNING user_id, challenge, expires_at`.pipe(
      Effect.flatMap(decodeRows(ChallengeRow)),
      Effect.map(live)
    )

  /** Takes a live challenge of this user by its value (what an assertion's client data carries). */
  const takeChallenge = (userId: number, challenge: string) =>
    sql`DELETE FROM webauthn_challenges WHERE challenge = ${challenge} AND user_id = ${userId}
      RETURNING user_id, challenge, expires_at`.pipe(
      Effect.flatMap(decodeRows(ChallengeRow)),
      Effect.map(live)
    )

  const deleteChallengesOf = (userId: number) => sql`DELETE FROM webauthn_challenges WHERE user_id = ${userId}`

  return {
    credentialsOf,
    credentialCount,
    credential,
    insertCredential,
    recordUse,
    deleteCredential,
    deleteAllCredentials,
    createChallenge,
    takeChallengeById,
    takeChallenge,
    deleteChallengesOf
  } as const
})

export type WebAuthnRepo = Effect.Effect.Success<typeof makeWebAuthnRepo>
