// Users' WebAuthn keys: registration (as a second factor), the list, removal, login challenges, and
// the check of an assertion, both as the second step of a password login and as a passwordless
// login. A challenge is single use and short-lived; a key's signature counter must keep rising.
import { SqlClient } from "@effect/sql"
import { Effect, Option, Schema } from "effect"
import { randomBytes, timingSafeEqual } from "node:crypto"
import type { Assertion, Attestation } from "../../protocol/api/twoFactor.js"
import type { WebAuthnCredential, WebAuthnLoginRequest } from "../../protocol/api/webauthn.js"
import { LimitReached, WebAuthnCredentialNotFound, WebAuthnInvalid } from "../../protocol/errors.js"
import { UserId } from "../../protocol/ids.js"
import { VoxConfig } from "../config/VoxConfig.js"
import { decodeRows, IntColumn } from "../db/columns.js"
import { dieOnStorageError } from "../db/storageErrors.js"
import { SecretBox } from "./SecretBox.js"
import {
  answeredChallenge,
  creationOptions,
  type NewCredential,
  relyingParty,
  toBase64Url,
  verifyAssertion,
  verifyAttestation
} from "./WebAuthn.js"
import { makeWebAuthnRepo } from "./WebAuthnRepo.js"

/** Keys one account may register: enough for a spare or two, not a way to fill the database. */
export const MAX_CREDENTIALS = 10
const CHALLENGE_TTL_MS = 5 * 60_000

const AccountRow = Schema.Struct({
  id: Schema.compose(IntColumn, UserId),
  username: Schema.String,
  display_name: Schema.String
})

const seconds = (ms: number) => Math.floor(ms / 1000)

export const makeWebAuthnKeys = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  const config = yield* VoxConfig
  const box = yield* SecretBox
  const repo = yield* makeWebAuthnRepo
  const rp = relyingParty(config)

  /** A stable, opaque user handle: names no one, and the same for all of a user's keys. */
  const userHandle = (userId: number) => box.keyedHash("webauthn-user", String(userId)).subarray(0, 16)

  const account = (userId: number) =>
    sql`SELECT id, username, display_name FROM users WHERE id = ${userId}`.pipe(
      Effect.flatMap(decodeRows(AccountRow)),
      Effect.map((rows) => rows[0])
    )

  const accountNamed = (username: string) =>
    sql`SELECT id, username, display_name FROM users WHERE username_key = ${username.toLowerCase()}`.pipe(
      Effect.flatMap(decodeRows(AccountRow)),
      Effect.map((rows) => rows[0])
    )

  const limitReached = new LimitReached({
    message: `An account can register at most ${MAX_CREDENTIALS} WebAuthn keys.`,
    limit: "webauthn_credentials",
    max: MAX_CREDENTIALS
  })

  const registrationOptions = (userId: number) =>
    Effect.gen(function* () {
      const party = yield* rp
      const existing = yield* repo.credentialsOf(userId)
      if (existing.length >= MAX_CREDENTIALS) return yield* limitReached
      const user = yield* account(userId)
      return yield* creationOptions(party, {
        handle: userHandle(userId),
        name: user?.username ?? String(userId),
        displayName: user?.display_name ?? "",
        exclude: existing.map((c) => ({ id: c.id, transports: c.transports }))
      })
    }).pipe(dieOnStorageError)

  const verifyRegistration = (attestation: Attestation, expectedChallenge: string) =>
    Effect.flatMap(rp, (party) => verifyAttestation(party, attestation, expectedChallenge))

  /** Saves a verified key; inside the transaction that finishes its setup. */
  const store = (userId: number, credential: NewCredential, name: string, transports: ReadonlyArray<string>) =>
    Effect.gen(function* () {
      if ((yield* repo.credentialCount(userId)) >= MAX_CREDENTIALS) return yield* limitReached
      const inserted = yield* repo.insertCredential({
        id: credential.id,
        userId,
        name,
        publicKey: credential.publicKey,
        counter: credential.counter,
        transports
      })
      if (!inserted) return yield* new WebAuthnInvalid({ message: "This key is already registered." })
    })

  const list = (userId: number) =>
    Effect.map(repo.credentialsOf(userId), (rows) => ({
      credentials: rows.map((r): WebAuthnCredential => ({
        credential_id: r.id,
        name: r.name,
        registered_at: seconds(r.created_at),
        last_used_at: r.last_used_at === null ? null : seconds(r.last_used_at)
      }))
    })).pipe(dieOnStorageError)

  const remove = (userId: number, credentialId: string) =>
    Effect.flatMap(repo.deleteCredential(toBase64Url(credentialId), userId), (deleted) =>
      deleted ? Effect.void : Effect.fail(new WebAuthnCredentialNotFound()))

  const removeAll = (userId: number) =>
    Effect.zipLeft(repo.deleteAllCredentials(userId), repo.deleteChallengesOf(userId))

  const random = (bytes: number) => randomBytes(bytes).toString("base64url")

  /**
   * A challenge for a login with a key. An unknown username gets one too, never stored and with no
   * credentials, so the answer does not tell which usernames exist.
   */
  const loginChallenge = (username: string) =>
    Effect.gen(function* () {
      yield* rp
      const id = "chall_" + random(18)
      const challenge = random(32)
      const user = yield* accountNamed(username)
      if (user === undefined) return { challenge_id: id, challenge, credential_ids: [] }
      yield* repo.createChallenge({ id, userId: user.id, challenge, expiresAt: Date.now() + CHALLENGE_TTL_MS })
      const credentials = yield* repo.credentialsOf(user.id)
      return { challenge_id: id, challenge, credential_ids: credentials.map((c) => c.id) }
    }).pipe(dieOnStorageError)

  const expiredChallenge = new WebAuthnInvalid({ message: "Unknown or expired WebAuthn challenge; ask for a new one." })

  /** Verifies an assertion with the user's key; returns the write that records its new counter. */
  const checkAssertion = (
    userId: number,
    assertion: Omit<Assertion, "user_handle">,
    expectedChallenge: string,
    requireUserVerification: boolean
  ) =>
    Effect.gen(function* () {
      const party = yield* rp
      const credential = yield* repo.credential(toBase64Url(assertion.credential_id), userId)
      if (credential === undefined) return yield* new WebAuthnCredentialNotFound()
      const counter = yield* verifyAssertion(party, {
        assertion,
        expectedChallenge,
        credential: { id: credential.id, publicKey: credential.public_key, counter: credential.sign_count },
        requireUserVerification
      })
      return Effect.flatMap(repo.recordUse(credential.id, credential.sign_count, counter), (recorded) =>
        recorded ? Effect.void : Effect.fail(new WebAuthnInvalid({ message: "The key's signature counter did not advance." })))
    })

  /** The second step of a password login: the assertion answers a challenge issued to this user. */
  const verifySecondFactor = (userId: number, assertion: Assertion) =>
    Effect.gen(function* () {
      yield* rp
      const challenge = yield* answeredChallenge(assertion.client_data_json)
      const stored = yield* repo.takeChallenge(userId, challenge)
      if (stored === undefined) return yield* expiredChallenge
      // users verified or not: this key is the second factor, the password was the first
      return yield* checkAssertion(userId, assertion, stored.challenge, false)
    })

  /**
   * A passwordless login: the key is the only factor, so it must have verified its user (PIN,
   * biometrics). Returns the user and the write that records the key's use.
   */
  const verifyPasswordless = (request: WebAuthnLoginRequest) =>
    Effect.gen(function* () {
      yield* rp
      const stored = yield* repo.takeChallengeById(request.challenge_id)
      const user = yield* accountNamed(request.username)
      if (stored === undefined || user === undefined || stored.user_id !== user.id) return yield* expiredChallenge
      if (request.user_handle !== undefined && request.user_handle !== null) {
        const presented = Buffer.from(toBase64Url(request.user_handle), "base64url")
        const expected = userHandle(user.id)
        if (presented.length !== expected.length || !timingSafeEqual(presented, expected)) {
          return yield* new WebAuthnInvalid({ message: "The key belongs to another user." })
        }
      }
      const spend = yield* checkAssertion(user.id, request, stored.challenge, true)
      return { userId: user.id, spend }
    }).pipe(dieOnStorageError)

  return {
    configured: Option.isSome(config.auth.webauthn.rpId),
    account,
    count: repo.credentialCount,
    registrationOptions,
    verifyRegistration,
    store,
    list,
    remove,
    removeAll,
    loginChallenge,
    verifySecondFactor,
    verifyPasswordless
  } as const
})
