// Two-factor authentication end to end (issue 7, acceptance 1, 2 and 6): the RFC 6238 vectors, TOTP
// enrolment and login, replay, the 5-attempt limit of a ticket, recovery codes (single use even when
// raced), removal, secrets at rest, tickets and setup ids refused as Bearer tokens, and the admin
// reset, on SQLite and (when configured) PostgreSQL.
import { SqlClient } from "@effect/sql"
import { describe, expect, it, layer } from "@effect/vitest"
import { Effect, Option } from "effect"
import * as Fs from "node:fs"
import * as Path from "node:path"
import { SecondFactorRequired } from "../../src/client/VoxClient.js"
import * as AdminApi from "../../src/protocol/api/admin.js"
import * as AuthApi from "../../src/protocol/api/auth.js"
import * as Roles from "../../src/protocol/api/roles.js"
import * as TwoFactorApi from "../../src/protocol/api/twoFactor.js"
import { Permission } from "../../src/protocol/permissions.js"
import { matchTotp, timeStepAt } from "../../src/runtime/auth/Totp.js"
import { backends } from "../support/backends.js"
import { currentStep, totpAt } from "../support/authenticators.js"
import { auditEntries, countRows, TestServerWithDatabaseLive } from "../support/db.js"
import { rawEndpointRequest, rawRequest } from "../support/http.js"
import { newUser, owner, PASSWORD, TestServer, TestServerLive, uniqueName } from "../support/server.js"

// RFC 6238 appendix B, SHA-1 rows: the seed is the ASCII "12345678901234567890". A 6-digit code is
// the 8-digit one modulo 10^6, its last six digits.
const RFC_SECRET = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
const RFC_VECTORS: ReadonlyArray<readonly [number, string]> = [
  [59, "94287082"],
  [1111111109, "07081804"],
  [1111111111, "14050471"],
  [1234567890, "89005924"],
  [2000000000, "69279037"],
  [20000000000, "65353130"]
]

describe("TOTP verification", () => {
  it.effect("passes the RFC 6238 SHA-1 test vectors, within one step either side, and refuses a replay", () =>
    Effect.gen(function* () {
      for (const [time, code8] of RFC_VECTORS) {
        const code = code8.slice(2)
        const step = Math.floor(time / 30)
        expect(timeStepAt(time * 1000)).toBe(step)
        const at = (seconds: number, after?: number) =>
          matchTotp({ secret: RFC_SECRET, code, nowMs: seconds * 1000, after })
        expect(yield* at(time)).toEqual(Option.some(step))
        // the test generator agrees with the RFC too
        expect(totpAt(RFC_SECRET, step)).toBe(code)
        // clock skew: the code of the previous or next step is accepted, two steps away is not
        expect(yield* at(time + 30)).toEqual(Option.some(step))
        expect(yield* at(time - 30)).toEqual(Option.some(step))
        expect(yield* at(time + 60)).toEqual(Option.none())
        if (time >= 60) expect(yield* at(time - 60)).toEqual(Option.none())
        // replay: a step at or before the last accepted one is refused
        expect(yield* at(time, step)).toEqual(Option.none())
        expect(yield* at(time, step - 1)).toEqual(Option.some(step))
      }
      expect(yield* matchTotp({ secret: RFC_SECRET, code: "28708", nowMs: 59_000, after: undefined })).toEqual(Option.none())
      expect(yield* matchTotp({ secret: RFC_SECRET, code: "2870820", nowMs: 59_000, after: undefined })).toEqual(Option.none())
    }))
})

type User = Effect.Effect.Success<ReturnType<typeof newUser>>

/** Tests that sign in a dozen times: each password check is a 64 MiB argon2id run. */
const HEAVY = 240_000

/** Enrols TOTP with the code of the current step; returns the secret, that step and the recovery codes. */
const enrolTotp = (user: User) =>
  Effect.gen(function* () {
    const setup = yield* user.client.call(TwoFactorApi.beginTwoFactorSetup, { body: { method: "totp" } })
    if (setup.method !== "totp") throw new Error("expected a TOTP setup")
    const step = currentStep()
    const confirmed = yield* user.client.call(TwoFactorApi.confirmTwoFactorSetup, {
      body: { setup_id: setup.setup_id, code: totpAt(setup.totp_secret, step) }
    })
    return { secret: setup.totp_secret, step, codes: confirmed.recovery_codes, setup }
  })

/** A password login that must ask for a second factor. */
const ticketFor = (username: string) =>
  Effect.gen(function* () {
    const { client } = yield* TestServer
    const result = yield* client.call(AuthApi.login, { body: { username, password: PASSWORD } })
    if (!AuthApi.isMfaChallenge(result)) throw new Error("expected mfa_required")
    return result
  })

const secondStep = (body: TwoFactorApi.LoginTwoFactorRequest) =>
  Effect.flatMap(TestServer, ({ client }) => client.call(TwoFactorApi.loginTwoFactor, { body }))

const codeOf = <A, E>(effect: Effect.Effect<A, E, TestServer>) =>
  Effect.map(Effect.flip(effect), (e: any) => e.code as string)

const status = (user: User) => user.client.call(TwoFactorApi.getTwoFactor)

for (const backend of backends) {
  describe(`two-factor authentication on ${backend.name}`, () => {
    layer(TestServerWithDatabaseLive(backend), { excludeTestServices: true })((it) => {
      it.effect("TOTP enrolment: setup, a wrong code, the right code, 8 recovery codes shown once, sealed at rest", () =>
        Effect.gen(function* () {
          const user = yield* newUser("enrol")
          expect(yield* status(user)).toEqual({ totp_enabled: false, webauthn_enabled: false, recovery_codes_left: 0 })

          const setup = yield* user.client.call(TwoFactorApi.beginTwoFactorSetup, { body: { method: "totp" } })
          if (setup.method !== "totp") throw new Error("expected a TOTP setup")
          expect(setup.totp_secret).toMatch(/^[A-Z2-7]{32}$/)
          expect(setup.totp_uri).toContain(`otpauth://totp/`)
          expect(setup.totp_uri).toContain(`secret=${setup.totp_secret}`)
          expect(setup.totp_uri).toContain(user.username)
          // not enabled until confirmed
          expect((yield* status(user)).totp_enabled).toBe(false)

          const wrong = totpAt(setup.totp_secret, currentStep() + 5)
          const refused = yield* codeOf(user.client.call(TwoFactorApi.confirmTwoFactorSetup, {
            body: { setup_id: setup.setup_id, code: wrong }
          }))
          expect(refused).toBe("2FA_INVALID_CODE")

          const confirmed = yield* user.client.call(TwoFactorApi.confirmTwoFactorSetup, {
            body: { setup_id: setup.setup_id, code: totpAt(setup.totp_secret, currentStep()) }
          })
          expect(confirmed.success).toBe(true)
          expect(confirmed.recovery_codes).toHaveLength(8)
          for (const code of confirmed.recovery_codes) expect(code).toMatch(/^[A-Z2-9]{4}-[A-Z2-9]{4}$/)
          expect(new Set(confirmed.recovery_codes).size).toBe(8)
          expect(yield* status(user)).toEqual({ totp_enabled: true, webauthn_enabled: false, recovery_codes_left: 8 })

          // a finished setup cannot be confirmed again; TOTP cannot be enrolled twice
          expect(yield* codeOf(user.client.call(TwoFactorApi.confirmTwoFactorSetup, {
            body: { setup_id: setup.setup_id, code: totpAt(setup.totp_secret, currentStep()) }
          }))).toBe("2FA_SETUP_EXPIRED")
          const again = yield* rawEndpointRequest(TwoFactorApi.beginTwoFactorSetup, {}, { token: user.token, body: { method: "totp" } })
          expect([again.status, again.body.error.code]).toEqual([409, "2FA_ALREADY_ENABLED"])

          // at rest: neither the secret nor a recovery code is in the database
          const sql = yield* SqlClient.SqlClient
          const stored = JSON.stringify(yield* sql`SELECT * FROM totp_secrets WHERE user_id = ${user.user_id}`)
          expect(stored).not.toContain(setup.totp_secret)
          expect(stored).toContain("v1.")
          const codes = JSON.stringify(yield* sql`SELECT * FROM recovery_codes WHERE user_id = ${user.user_id}`)
          for (const code of confirmed.recovery_codes) {
            expect(codes).not.toContain(code)
            expect(codes).not.toContain(code.replace("-", ""))
          }
        }))

      it.effect("the server key is generated in the data directory, readable by its owner only", () =>
        Effect.gen(function* () {
          const { settings } = yield* TestServer
          const file = Path.join(settings.dataDir!, "secret.key")
          expect(Buffer.from(Fs.readFileSync(file, "utf8").trim(), "base64")).toHaveLength(32)
          expect(Fs.statSync(file).mode & 0o777).toBe(0o600)
        }))

      it.effect("a password login of an enrolled user asks for a second factor; an accepted code cannot be replayed", () =>
        Effect.gen(function* () {
          const user = yield* newUser("mfa")
          const { secret, step } = yield* enrolTotp(user)

          const challenge = yield* ticketFor(user.username)
          expect(challenge.mfa_ticket.startsWith("mfa_")).toBe(true)
          expect(challenge.available_methods).toEqual(["totp", "recovery"])
          // the SDK's login() says so as a typed error
          const { client } = yield* TestServer
          const sdk = yield* Effect.flip(client.login({ username: user.username, password: PASSWORD }))
          expect(sdk).toBeInstanceOf(SecondFactorRequired)

          // the code that confirmed the setup was spent there
          expect(yield* codeOf(secondStep({ mfa_ticket: challenge.mfa_ticket, method: "totp", code: totpAt(secret, step) })))
            .toBe("2FA_INVALID_CODE")
          // the next step's code is accepted (clock skew), once
          const next = totpAt(secret, step + 1)
          const session = yield* secondStep({ mfa_ticket: challenge.mfa_ticket, method: "totp", code: next })
          expect(session.user_id).toBe(user.user_id)
          expect((yield* client.withToken(session.token).me()).user_id).toBe(user.user_id)
          // the ticket is single use
          expect(yield* codeOf(secondStep({ mfa_ticket: challenge.mfa_ticket, method: "totp", code: next }))).toBe("AUTH_FAILED")

          // replay on a fresh ticket: refused, as is any earlier step
          const other = yield* ticketFor(user.username)
          const replay = yield* rawEndpointRequest(TwoFactorApi.loginTwoFactor, {}, {
            body: { mfa_ticket: other.mfa_ticket, method: "totp", code: next }
          })
          expect([replay.status, replay.body.error.code]).toEqual([401, "2FA_INVALID_CODE"])
          expect(yield* codeOf(secondStep({ mfa_ticket: other.mfa_ticket, method: "totp", code: totpAt(secret, step - 1) })))
            .toBe("2FA_INVALID_CODE")
          // two steps ahead is outside the window
          expect(yield* codeOf(secondStep({ mfa_ticket: other.mfa_ticket, method: "totp", code: totpAt(secret, currentStep() + 2) })))
            .toBe("2FA_INVALID_CODE")
        }))

      it.effect("an mfa_ticket or a setup id used as a Bearer token gets 401 AUTH_FAILED", () =>
        Effect.gen(function* () {
          const user = yield* newUser("bearer")
          const pending = yield* user.client.call(TwoFactorApi.beginTwoFactorSetup, { body: { method: "totp" } })
          const asBearer = yield* rawRequest("GET", "/api/v1/users/@me", { token: pending.setup_id })
          expect([asBearer.status, asBearer.body.error.code]).toEqual([401, "AUTH_FAILED"])

          yield* enrolTotp(user)
          const { mfa_ticket } = yield* ticketFor(user.username)
          for (const path of ["/api/v1/users/@me", "/api/v1/auth/2fa", "/api/v1/server"]) {
            const response = yield* rawRequest("GET", path, { token: mfa_ticket })
            expect([path, response.status, response.body.error.code]).toEqual([path, 401, "AUTH_FAILED"])
          }
          const bot = yield* rawRequest("GET", "/api/v1/users/@me", { headers: { authorization: `Bot ${mfa_ticket}` } })
          expect(bot.status).toBe(401)
          // and using it as a Bearer token did not spend it
          expect(yield* countRows("mfa_tickets", (sql) => sql`user_id = ${user.user_id}`)).toBe(1)
        }))

      it.effect("five wrong codes kill the ticket: even the right code then gets 2FA_MAX_ATTEMPTS", () =>
        Effect.gen(function* () {
          const user = yield* newUser("brute")
          const { secret, step } = yield* enrolTotp(user)
          const { mfa_ticket } = yield* ticketFor(user.username)
          const wrong = (n: number) => totpAt(secret, step + 10 + n)
          for (let n = 1; n <= 4; n++) {
            const response = yield* rawEndpointRequest(TwoFactorApi.loginTwoFactor, {}, {
              body: { mfa_ticket, method: "totp", code: wrong(n) }
            })
            expect([n, response.status, response.body.error.code]).toEqual([n, 401, "2FA_INVALID_CODE"])
          }
          const fifth = yield* rawEndpointRequest(TwoFactorApi.loginTwoFactor, {}, {
            body: { mfa_ticket, method: "totp", code: wrong(5) }
          })
          expect([fifth.status, fifth.body.error.code]).toEqual([401, "2FA_MAX_ATTEMPTS"])
          expect(yield* codeOf(secondStep({ mfa_ticket, method: "totp", code: totpAt(secret, step + 1) })))
            .toBe("2FA_MAX_ATTEMPTS")
          expect(yield* codeOf(secondStep({ mfa_ticket, method: "recovery", code: "AAAA-AAAA" }))).toBe("2FA_MAX_ATTEMPTS")
          // a fresh password login gives a fresh ticket, and the code still works there
          const fresh = yield* ticketFor(user.username)
          const session = yield* secondStep({ mfa_ticket: fresh.mfa_ticket, method: "totp", code: totpAt(secret, step + 1) })
          expect(session.user_id).toBe(user.user_id)
        }))

      it.effect("five wrong tries run in parallel count all the same", () =>
        Effect.gen(function* () {
          const user = yield* newUser("brutepar")
          const { secret, step } = yield* enrolTotp(user)
          const { mfa_ticket } = yield* ticketFor(user.username)
          const codes = yield* Effect.all(
            Array.from({ length: 8 }, (_, n) => codeOf(secondStep({ mfa_ticket, method: "totp", code: totpAt(secret, step + 20 + n) }))),
            { concurrency: "unbounded" }
          )
          expect(codes.filter((c) => c === "2FA_INVALID_CODE")).toHaveLength(4)
          expect(codes.filter((c) => c === "2FA_MAX_ATTEMPTS")).toHaveLength(4)
          expect(yield* codeOf(secondStep({ mfa_ticket, method: "totp", code: totpAt(secret, step + 1) }))).toBe("2FA_MAX_ATTEMPTS")
        }))

      it.effect("recovery codes: each works once, in any case and without its dash; then 2FA_RECOVERY_EXHAUSTED", () =>
        Effect.gen(function* () {
          const user = yield* newUser("recover")
          const { codes } = yield* enrolTotp(user)
          const first = yield* ticketFor(user.username)
          const session = yield* secondStep({ mfa_ticket: first.mfa_ticket, method: "recovery", code: codes[0]! })
          expect(session.user_id).toBe(user.user_id)
          expect((yield* status(user)).recovery_codes_left).toBe(7)

          const second = yield* ticketFor(user.username)
          expect(yield* codeOf(secondStep({ mfa_ticket: second.mfa_ticket, method: "recovery", code: codes[0]! })))
            .toBe("2FA_INVALID_CODE")
          expect(yield* codeOf(secondStep({ mfa_ticket: second.mfa_ticket, method: "recovery", code: "not a code" })))
            .toBe("2FA_INVALID_CODE")
          yield* secondStep({ mfa_ticket: second.mfa_ticket, method: "recovery", code: codes[1]!.toLowerCase().replace("-", "") })

          for (const code of codes.slice(2)) {
            const { mfa_ticket } = yield* ticketFor(user.username)
            yield* secondStep({ mfa_ticket, method: "recovery", code })
          }
          expect(yield* status(user)).toEqual({ totp_enabled: true, webauthn_enabled: false, recovery_codes_left: 0 })
          const last = yield* ticketFor(user.username)
          expect(last.available_methods).toEqual(["totp"])
          const exhausted = yield* rawEndpointRequest(TwoFactorApi.loginTwoFactor, {}, {
            body: { mfa_ticket: last.mfa_ticket, method: "recovery", code: codes[7]! }
          })
          expect([exhausted.status, exhausted.body.error.code]).toEqual([422, "2FA_RECOVERY_EXHAUSTED"])
        }), HEAVY)

      it.effect("8 parallel logins with the same recovery code: exactly one succeeds", () =>
        Effect.gen(function* () {
          const user = yield* newUser("race")
          const { codes } = yield* enrolTotp(user)
          const code = codes[3]!
          const attempts = yield* Effect.all(
            Array.from({ length: 8 }, () =>
              Effect.flatMap(ticketFor(user.username), ({ mfa_ticket }) =>
                Effect.either(secondStep({ mfa_ticket, method: "recovery", code })))),
            { concurrency: "unbounded" }
          )
          const won = attempts.filter((a) => a._tag === "Right")
          expect(won).toHaveLength(1)
          expect(attempts.filter((a) => a._tag === "Left").map((a: any) => a.left.code))
            .toEqual(Array(7).fill("2FA_INVALID_CODE"))
          expect((yield* status(user)).recovery_codes_left).toBe(7)
        }), HEAVY)

      it.effect("removing TOTP takes a current code; then logins need only the password", () =>
        Effect.gen(function* () {
          const user = yield* newUser("remove")
          const { secret, step } = yield* enrolTotp(user)
          const wrong = yield* rawEndpointRequest(TwoFactorApi.removeTwoFactor, {}, {
            token: user.token,
            body: { method: "totp", code: totpAt(secret, step + 7) }
          })
          expect([wrong.status, wrong.body.error.code]).toEqual([401, "2FA_INVALID_CODE"])
          // the confirming code was spent: it cannot remove it either
          expect(yield* codeOf(user.client.call(TwoFactorApi.removeTwoFactor, { body: { method: "totp", code: totpAt(secret, step) } })))
            .toBe("2FA_INVALID_CODE")
          yield* user.client.call(TwoFactorApi.removeTwoFactor, { body: { method: "totp", code: totpAt(secret, step + 1) } })
          expect(yield* status(user)).toEqual({ totp_enabled: false, webauthn_enabled: false, recovery_codes_left: 0 })

          const { client } = yield* TestServer
          const login = yield* client.call(AuthApi.login, { body: { username: user.username, password: PASSWORD } })
          expect(AuthApi.isMfaChallenge(login)).toBe(false)
          const notEnabled = yield* rawEndpointRequest(TwoFactorApi.removeTwoFactor, {}, {
            token: user.token,
            body: { method: "totp", code: "123456" }
          })
          expect([notEnabled.status, notEnabled.body.error.code]).toEqual([422, "2FA_NOT_ENABLED"])
          // and it can be enrolled again, with new codes
          expect((yield* enrolTotp(user)).codes).toHaveLength(8)
        }))

      it.effect("a setup dies after five wrong codes, and an unknown one is 410 2FA_SETUP_EXPIRED", () =>
        Effect.gen(function* () {
          const user = yield* newUser("setupbrute")
          const unknown = yield* rawEndpointRequest(TwoFactorApi.confirmTwoFactorSetup, {}, {
            token: user.token,
            body: { setup_id: "setup_nothing", code: "123456" }
          })
          expect([unknown.status, unknown.body.error.code]).toEqual([410, "2FA_SETUP_EXPIRED"])

          const setup = yield* user.client.call(TwoFactorApi.beginTwoFactorSetup, { body: { method: "totp" } })
          if (setup.method !== "totp") throw new Error("expected a TOTP setup")
          for (let n = 0; n < 5; n++) {
            expect(yield* codeOf(user.client.call(TwoFactorApi.confirmTwoFactorSetup, {
              body: { setup_id: setup.setup_id, code: totpAt(setup.totp_secret, currentStep() + 10 + n) }
            }))).toBe("2FA_INVALID_CODE")
          }
          expect(yield* codeOf(user.client.call(TwoFactorApi.confirmTwoFactorSetup, {
            body: { setup_id: setup.setup_id, code: totpAt(setup.totp_secret, currentStep()) }
          }))).toBe("2FA_SETUP_EXPIRED")
          // someone else's setup id is unknown to you
          const other = yield* newUser("setupthief")
          const mine = yield* user.client.call(TwoFactorApi.beginTwoFactorSetup, { body: { method: "totp" } })
          if (mine.method !== "totp") throw new Error("expected a TOTP setup")
          expect(yield* codeOf(other.client.call(TwoFactorApi.confirmTwoFactorSetup, {
            body: { setup_id: mine.setup_id, code: totpAt(mine.totp_secret, currentStep()) }
          }))).toBe("2FA_SETUP_EXPIRED")
        }))

    })
    // A fresh server, so that `owner` is its first account.
    layer(TestServerWithDatabaseLive(backend), { excludeTestServices: true })((it) => {
      it.effect("admin 2FA reset: MANAGE_2FA, hierarchy, every factor and session gone, audited", () =>
        Effect.gen(function* () {
          const boss = yield* owner
          const user = yield* newUser("locked")
          const { codes } = yield* enrolTotp(user)
          const { client } = yield* TestServer
          const { mfa_ticket } = yield* ticketFor(user.username)
          const second = yield* secondStep({ mfa_ticket, method: "recovery", code: codes[0]! })

          // a member without MANAGE_2FA is refused
          const plain = yield* newUser("plain")
          const refused = yield* rawEndpointRequest(AdminApi.adminTwoFactorReset, {}, {
            token: plain.token,
            body: { target_user_id: user.user_id }
          })
          expect([refused.status, refused.body.error]).toMatchObject([403, { code: "FORBIDDEN", missing_permission: "MANAGE_2FA" }])

          // a moderator with MANAGE_2FA cannot reset the owner, nor themselves
          const mod = yield* newUser("mod2fa")
          const role = yield* boss.client.call(Roles.createRole, {
            body: { name: uniqueName("2fa-mods"), permissions: Permission.MANAGE_2FA }
          })
          yield* boss.client.call(Roles.assignRole, { params: { user_id: mod.user_id, role_id: role.role_id } })
          expect(yield* codeOf(mod.client.call(AdminApi.adminTwoFactorReset, { body: { target_user_id: boss.user_id } })))
            .toBe("ROLE_HIERARCHY")
          expect(yield* codeOf(mod.client.call(AdminApi.adminTwoFactorReset, { body: { target_user_id: mod.user_id } })))
            .toBe("FORBIDDEN")
          expect(yield* codeOf(mod.client.call(AdminApi.adminTwoFactorReset, { body: { target_user_id: 999_999 as any } })))
            .toBe("USER_NOT_FOUND")

          yield* mod.client.call(AdminApi.adminTwoFactorReset, { body: { target_user_id: user.user_id, reason: "lost phone" } })
          // every session of theirs ended at once
          expect((yield* Effect.flip(user.client.me()))._tag).toBe("AuthFailed")
          expect((yield* Effect.flip(client.withToken(second.token).me()))._tag).toBe("AuthFailed")
          expect(yield* countRows("sessions", (sql) => sql`user_id = ${user.user_id}`)).toBe(0)
          // the password alone signs in now
          const login = yield* client.login({ username: user.username, password: PASSWORD })
          expect(login.user_id).toBe(user.user_id)
          expect(yield* client.withToken(login.token).call(TwoFactorApi.getTwoFactor)).toEqual({
            totp_enabled: false,
            webauthn_enabled: false,
            recovery_codes_left: 0
          })
          const entries = yield* auditEntries((sql) => sql`event_type = '2fa.admin_reset' AND target_id = ${user.user_id}`)
          expect(entries).toEqual([{
            event_type: "2fa.admin_reset",
            actor_id: mod.user_id,
            target_id: user.user_id,
            metadata: { reason: "lost phone", totp: true, webauthn_credentials: 0, recovery_codes: 7, sessions_ended: 2 }
          }])
        }), HEAVY)
    })
  })
}

describe("the server key from the configuration", () => {
  const key = Buffer.alloc(32, 7).toString("base64")
  layer(TestServerLive(backends[0]!, { auth: { secretKey: key } }), { excludeTestServices: true })((it) => {
    it.effect("auth.secretKey is used instead of a key file", () =>
      Effect.gen(function* () {
        const { settings } = yield* TestServer
        const user = yield* newUser("keyed")
        yield* enrolTotp(user)
        expect(Fs.existsSync(Path.join(settings.dataDir!, "secret.key"))).toBe(false)
      }))
  })
})
