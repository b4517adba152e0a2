// Two-factor authentication of accounts (reference API.md §5, security/two-factor.md): enrolment of
// TOTP and WebAuthn keys, recovery codes, removal, and the check of a second factor at login. A check
// returns the write that spends the factor (the TOTP step, the recovery code, the key's counter);
// the login runs it in the transaction that also ends the ticket, so a factor is only spent by a
// login that happens.
import { SqlClient, type SqlError } from "@effect/sql"
import { Effect, Option, Schema } from "effect"
import { createHash, randomBytes } from "node:crypto"
import type { MfaMethod } from "../../protocol/api/auth.js"
import type { ConfirmRequest, LoginTwoFactorRequest, SetupResponse, TwoFactorStatus } from "../../protocol/api/twoFactor.js"
import {
  InvalidBody,
  TwoFactorAlreadyEnabled,
  TwoFactorInvalidCode,
  TwoFactorNotEnabled,
  TwoFactorRecoveryExhausted,
  TwoFactorSetupExpired,
  type WebAuthnCredentialNotFound,
  type WebAuthnInvalid,
  type WebAuthnNotConfigured
} from "../../protocol/errors.js"
import { VoxConfig } from "../config/VoxConfig.js"
import { decodeRows } from "../db/columns.js"
import { dieOnStorageError } from "../db/storageErrors.js"
import { newRecoveryCodes, normalizeRecoveryCode } from "./Recovery.js"
import { SecretBox } from "./SecretBox.js"
import { matchTotp, newTotpSecret, totpUri } from "./Totp.js"
import { makeTwoFactorRepo } from "./TwoFactorRepo.js"
import { makeWebAuthnKeys } from "./WebAuthnKeys.js"

const SETUP_TTL_MS = 10 * 60_000
const SETUP_PREFIX = "setup_"

const hashId = (id: string) => createHash("sha256").update(id, "utf8").digest("hex")

/** Spends a verified factor; fails when a concurrent use spent it first. */
export type Spend = Effect.Effect<void, TwoFactorInvalidCode | WebAuthnInvalid | SqlError.SqlError>

const NameRow = Schema.Struct({ name: Schema.NullOr(Schema.String) })

export class TwoFactor extends Effect.Service<TwoFactor>()("vox/TwoFactor", {
  dependencies: [SecretBox.Default],
  effect: Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const config = yield* VoxConfig
    const box = yield* SecretBox
    const repo = yield* makeTwoFactorRepo
    const keys = yield* makeWebAuthnKeys

    const recoveryHash = (userId: number, normalized: string) =>
      box.keyedHash("recovery", `${userId}:${normalized}`).toString("hex")

    /** A new set of recovery codes replacing the old one; the plain codes go to the user, once. */
    const issueRecoveryCodes = (userId: number) =>
      Effect.gen(function* () {
        const codes = newRecoveryCodes()
        const hashes = codes.map((code) => recoveryHash(userId, Option.getOrThrow(normalizeRecoveryCode(code))))
        yield* repo.replaceRecoveryCodes(userId, hashes)
        return codes
      })

    /** With no factor left, the recovery codes have nothing to recover: 2FA is off. */
    const clearCodesIfNoFactorLeft = (userId: number) =>
      Effect.gen(function* () {
        const totp = yield* repo.totpOf(userId)
        if (totp === undefined && (yield* keys.count(userId)) === 0) yield* repo.clearRecoveryCodes(userId)
      })

    const status = (userId: number) =>
      Effect.gen(function* () {
        const [totp, credentials, left] = yield* Effect.all([
          repo.totpOf(userId),
          keys.count(userId),
          repo.recoveryCodesLeft(userId)
        ])
        const result: TwoFactorStatus = {
          totp_enabled: totp !== undefined,
          webauthn_enabled: credentials > 0,
          recovery_codes_left: left
        }
        return result
      }).pipe(dieOnStorageError)

    /** Whether a password login needs a second factor, and which ones the account can give now. */
    const loginMethods = (userId: number) =>
      Effect.gen(function* () {
        const [totp, credentials, left] = yield* Effect.all([
          repo.totpOf(userId),
          keys.count(userId),
          repo.recoveryCodesLeft(userId)
        ])
        const methods: Array<MfaMethod> = []
        if (totp !== undefined) methods.push("totp")
        if (credentials > 0 && keys.configured) methods.push("webauthn")
        if (left > 0) methods.push("recovery")
        return { required: totp !== undefined || credentials > 0, methods }
      }).pipe(dieOnStorageError)

    const issuer = sql`SELECT name FROM server WHERE id = 1`.pipe(
      Effect.flatMap(decodeRows(NameRow)),
      Effect.map((rows) => rows[0]?.name ?? config.server.name)
    )

    const beginSetup = (userId: number, method: "totp" | "webauthn") =>
      Effect.gen(function* () {
        const setupId = SETUP_PREFIX + randomBytes(24).toString("base64url")
        const expiresAt = Date.now() + SETUP_TTL_MS
        if (method === "webauthn") {
          const options = yield* keys.registrationOptions(userId)
          yield* repo.createSetup({ idHash: hashId(setupId), userId, method, payload: options.challenge, expiresAt })
          const setup: SetupResponse = { setup_id: setupId, method, creation_options: options }
          return setup
        }
        if ((yield* repo.totpOf(userId)) !== undefined) return yield* new TwoFactorAlreadyEnabled()
        const secret = newTotpSecret()
        const payload = box.seal(`totp-setup:${userId}`, Buffer.from(secret, "utf8"))
        yield* repo.createSetup({ idHash: hashId(setupId), userId, method, payload, expiresAt })
        const account = yield* keys.account(userId)
        const setup: SetupResponse = {
          setup_id: setupId,
          method,
          totp_secret: secret,
          totp_uri: totpUri(yield* issuer, account?.username ?? String(userId), secret)
        }
        return setup
      }).pipe(dieOnStorageError)

    const confirmSetup = (userId: number, body: ConfirmRequest) =>
      Effect.gen(function* () {
        const idHash = hashId(body.setup_id)
        const setup = yield* repo.setupOf(idHash, userId)
        if (setup === undefined) return yield* new TwoFactorSetupExpired()
        const wrongKind = (method: string) =>
          new InvalidBody({ location: "body", message: `This setup is for ${method}: answer it with ${method === "totp" ? "a code" : "an attestation"}.` })
        // a wrong answer counts against the setup; enough of them and it is gone
        const counted = <A, E, R>(check: Effect.Effect<A, E, R>) => Effect.tapError(check, () => repo.failSetup(idHash))

        if ("code" in body) {
          if (setup.method !== "totp") return yield* wrongKind(setup.method)
          const secret = (yield* box.open(`totp-setup:${userId}`, setup.payload)).toString("utf8")
          const step = yield* counted(
            Effect.flatMap(matchTotp({ secret, code: body.code, nowMs: Date.now(), after: undefined }), (m) =>
              Option.match(m, { onNone: () => Effect.fail(new TwoFactorInvalidCode()), onSome: Effect.succeed }))
          )
          return yield* sql.withTransaction(Effect.gen(function* () {
            if (!(yield* repo.takeSetup(idHash))) return yield* new TwoFactorSetupExpired()
            const sealed = box.seal(`totp:${userId}`, Buffer.from(secret, "utf8"))
            if (!(yield* repo.insertTotp(userId, sealed, step))) return yield* new TwoFactorAlreadyEnabled()
            return yield* issueRecoveryCodes(userId)
          }))
        }
        if (setup.method !== "webauthn") return yield* wrongKind(setup.method)
        const credential = yield* counted(keys.verifyRegistration(body.attestation, setup.payload))
        return yield* sql.withTransaction(Effect.gen(function* () {
          if (!(yield* repo.takeSetup(idHash))) return yield* new TwoFactorSetupExpired()
          yield* keys.store(userId, credential, body.credential_name ?? "Security key", body.attestation.transports ?? [])
          return yield* issueRecoveryCodes(userId)
        }))
      }).pipe(
        Effect.map((codes) => ({ success: true as const, recovery_codes: codes })),
        dieOnStorageError
      )

    const verifyTotp = (userId: number, code: string) =>
      Effect.gen(function* () {
        const row = yield* repo.totpOf(userId)
        if (row === undefined) return yield* new TwoFactorNotEnabled()
        const secret = (yield* box.open(`totp:${userId}`, row.sealed_secret)).toString("utf8")
        const step = yield* matchTotp({ secret, code, nowMs: Date.now(), after: row.last_time_step })
        if (Option.isNone(step)) return yield* new TwoFactorInvalidCode()
        const spend: Spend = Effect.flatMap(repo.advanceTotp(userId, step.value), (advanced) =>
          advanced ? Effect.void : Effect.fail(new TwoFactorInvalidCode()))
        return spend
      })

    /** Removes TOTP, proven with a current code (which is spent like a login's). */
    const removeTotp = (userId: number, code: string) =>
      Effect.gen(function* () {
        const spend = yield* verifyTotp(userId, code)
        yield* sql.withTransaction(Effect.gen(function* () {
          yield* spend
          yield* repo.removeTotp(userId)
          yield* clearCodesIfNoFactorLeft(userId)
        }))
      }).pipe(dieOnStorageError)

    const verifyRecovery = (userId: number, code: string) =>
      Effect.gen(function* () {
        if ((yield* repo.recoveryCodesLeft(userId)) === 0) return yield* new TwoFactorRecoveryExhausted()
        const normalized = normalizeRecoveryCode(code)
        if (Option.isNone(normalized)) return yield* new TwoFactorInvalidCode()
        const hash = recoveryHash(userId, normalized.value)
        const spend: Spend = Effect.flatMap(repo.useRecoveryCode(userId, hash), (used) =>
          used ? Effect.void : Effect.fail(new TwoFactorInvalidCode()))
        return spend
      })

    /** Checks the second factor of a login ticket's user; returns the write that spends it. */
    const verifySecondFactor = (
      userId: number,
      request: LoginTwoFactorRequest
    ): Effect.Effect<
      Spend,
      | TwoFactorInvalidCode
      | TwoFactorNotEnabled
      | TwoFactorRecoveryExhausted
      | WebAuthnInvalid
      | WebAuthnNotConfigured
      | WebAuthnCredentialNotFound
    > => {
      switch (request.method) {
        case "totp":
          return dieOnStorageError(verifyTotp(userId, request.code))
        case "recovery":
          return dieOnStorageError(verifyRecovery(userId, request.code))
        case "webauthn":
          return dieOnStorageError(keys.verifySecondFactor(userId, request.assertion))
      }
    }

    const deleteCredential = (userId: number, credentialId: string) =>
      sql.withTransaction(Effect.gen(function* () {
        yield* keys.remove(userId, credentialId)
        yield* clearCodesIfNoFactorLeft(userId)
      })).pipe(dieOnStorageError)

    /** Everything second-factor of a user, for the admin reset; runs inside the caller's transaction. */
    const removeAll = (userId: number) =>
      Effect.gen(function* () {
        const removed = yield* repo.removeAll(userId)
        const credentials = yield* keys.removeAll(userId)
        return { ...removed, webauthn_credentials: credentials }
      })

    return {
      status,
      loginMethods,
      beginSetup,
      confirmSetup,
      removeTotp,
      verifySecondFactor,
      credentials: keys.list,
      deleteCredential,
      loginChallenge: keys.loginChallenge,
      verifyPasswordless: keys.verifyPasswordless,
      removeAll
    } as const
  })
}) {}
