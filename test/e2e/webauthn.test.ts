// WebAuthn end to end (issue 7, acceptance 3): a software authenticator (real ES256 keys and
// signatures from node:crypto, CBOR attestation "none") registers a key as a second factor, logs in
// without a password and as the second step of a password login; wrong origins, wrong RP ids,
// replayed challenges and non-increasing counters are refused; keys are listed and removed; the
// endpoints say WEBAUTHN_NOT_CONFIGURED on a server without an RP id. SQLite and PostgreSQL.
import { describe, expect, it, layer } from "@effect/vitest"
import { Effect } from "effect"
import * as AdminApi from "../../src/protocol/api/admin.js"
import * as AuthApi from "../../src/protocol/api/auth.js"
import * as TwoFactorApi from "../../src/protocol/api/twoFactor.js"
import * as WebAuthnApi from "../../src/protocol/api/webauthn.js"
import { loadVoxConfig, type VoxConfigFile } from "../../src/runtime/config/VoxConfig.js"
import { type Ceremony, SoftwareAuthenticator } from "../support/authenticators.js"
import { backends } from "../support/backends.js"
import { rawEndpointRequest, rawRequest } from "../support/http.js"
import { newUser, owner, PASSWORD, TestServer, TestServerLive } from "../support/server.js"

const RP_ID = "localhost"
const ORIGIN = "http://localhost:5173"
const HONEST: Ceremony = { origin: ORIGIN, rpId: RP_ID }
const settings = { auth: { webauthn: { rpId: RP_ID, rpName: "Vox Test", origin: ORIGIN } } }

type User = Effect.Effect.Success<ReturnType<typeof newUser>>

/** Each test signs in several times: every password check is a 64 MiB argon2id run. */
const HEAVY = 180_000

const codeOf = <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.map(Effect.flip(effect), (e: any) => e.code as string)

/** A WEBAUTHN_INVALID refusal, and that it was for the reason its message names. */
const refusedFor = <A, E, R>(effect: Effect.Effect<A, E, R>, reason: RegExp) =>
  Effect.map(Effect.flip(effect), (e: any) => {
    expect(e.code).toBe("WEBAUTHN_INVALID")
    expect(e.message).toMatch(reason)
  })

/** Starts a WebAuthn setup and returns its id and creation options. */
const beginSetup = (user: User) =>
  Effect.map(user.client.call(TwoFactorApi.beginTwoFactorSetup, { body: { method: "webauthn" } }), (setup) => {
    if (setup.method !== "webauthn") throw new Error("expected a WebAuthn setup")
    return setup
  })

/** Registers the authenticator's key for the user, honestly. */
const registerKey = (user: User, key: SoftwareAuthenticator, name = "Test key") =>
  Effect.gen(function* () {
    const setup = yield* beginSetup(user)
    return yield* user.client.call(TwoFactorApi.confirmTwoFactorSetup, {
      body: { setup_id: setup.setup_id, attestation: key.register(setup.creation_options.challenge, HONEST), credential_name: name }
    })
  })

const challengeFor = (username: string) =>
  Effect.flatMap(TestServer, ({ client }) => client.call(WebAuthnApi.webauthnChallenge, { body: { username } }))

/** A passwordless login: a fresh challenge, signed as `ceremony` says. */
const passwordless = (user: User, key: SoftwareAuthenticator, ceremony: Ceremony & { counter?: number } = HONEST) =>
  Effect.gen(function* () {
    const { client } = yield* TestServer
    const challenge = yield* challengeFor(user.username)
    const assertion = key.assert(challenge.challenge, ceremony)
    return yield* client.call(WebAuthnApi.webauthnLogin, {
      body: { username: user.username, challenge_id: challenge.challenge_id, ...assertion }
    })
  })

for (const backend of backends) {
  describe(`WebAuthn on ${backend.name}`, () => {
    layer(TestServerLive(backend, settings), { excludeTestServices: true })((it) => {
      it.effect("a key registers as a second factor, then logs in without a password", () =>
        Effect.gen(function* () {
          const user = yield* newUser("passkey")
          const key = new SoftwareAuthenticator()
          const setup = yield* beginSetup(user)
          const options = setup.creation_options
          expect(options.rp).toEqual({ name: "Vox Test", id: RP_ID })
          expect(options.user.name).toBe(user.username)
          expect(options.attestation).toBe("none")
          expect(options.pubKeyCredParams.map((p) => p.alg)).toContain(-7)
          expect(options.challenge.length).toBeGreaterThanOrEqual(32)

          const confirmed = yield* user.client.call(TwoFactorApi.confirmTwoFactorSetup, {
            body: { setup_id: setup.setup_id, attestation: key.register(options.challenge, HONEST), credential_name: "YubiKey 5" }
          })
          expect(confirmed.recovery_codes).toHaveLength(8)
          expect(yield* user.client.call(TwoFactorApi.getTwoFactor)).toEqual({
            totp_enabled: false,
            webauthn_enabled: true,
            recovery_codes_left: 8
          })
          const list = yield* user.client.call(WebAuthnApi.listWebAuthnCredentials)
          expect(list.credentials).toEqual([{
            credential_id: key.id,
            name: "YubiKey 5",
            registered_at: expect.any(Number),
            last_used_at: null
          }])
          expect(Math.abs(list.credentials[0]!.registered_at - Date.now() / 1000)).toBeLessThan(120)

          // the next registration options exclude the key already registered
          expect((yield* beginSetup(user)).creation_options.excludeCredentials.map((c) => c.id)).toEqual([key.id])

          const challenge = yield* challengeFor(user.username)
          expect(challenge.credential_ids).toEqual([key.id])
          const { client } = yield* TestServer
          const session = yield* client.call(WebAuthnApi.webauthnLogin, {
            body: { username: user.username, challenge_id: challenge.challenge_id, ...key.assert(challenge.challenge, HONEST) }
          })
          expect(session.user_id).toBe(user.user_id)
          expect((yield* client.withToken(session.token).me()).user_id).toBe(user.user_id)
          expect((yield* user.client.call(WebAuthnApi.listWebAuthnCredentials)).credentials[0]!.last_used_at).not.toBeNull()
        }), HEAVY)

      it.effect("a wrong origin, a wrong RP id, a replayed challenge or a counter that does not rise is refused", () =>
        Effect.gen(function* () {
          const user = yield* newUser("attack")
          const key = new SoftwareAuthenticator()
          yield* registerKey(user, key)
          const { client } = yield* TestServer

          yield* refusedFor(passwordless(user, key, { ...HONEST, origin: "https://evil.example" }), /origin/)
          yield* refusedFor(passwordless(user, key, { ...HONEST, rpId: "evil.example" }), /RP ID/)

          // an honest login moves the counter on
          yield* passwordless(user, key)
          const counter = key.counter

          // the very same assertion again: its challenge is spent
          const challenge = yield* challengeFor(user.username)
          const assertion = key.assert(challenge.challenge, HONEST)
          const body = { username: user.username, challenge_id: challenge.challenge_id, ...assertion }
          yield* client.call(WebAuthnApi.webauthnLogin, { body })
          const replayed = yield* rawEndpointRequest(WebAuthnApi.webauthnLogin, {}, { body })
          expect([replayed.status, replayed.body.error.code]).toEqual([401, "WEBAUTHN_INVALID"])
          expect(replayed.body.error.message).toMatch(/challenge/)

          // a fresh challenge signed with a counter that does not rise: a cloned key
          yield* refusedFor(passwordless(user, key, { ...HONEST, counter: counter + 1 }), /counter/)
          yield* refusedFor(passwordless(user, key, { ...HONEST, counter: 1 }), /counter/)

          // a passwordless login needs a key that verified its user
          yield* refusedFor(passwordless(user, key, { ...HONEST, counter: 100, userVerified: false }), /User verification/)

          // a signature by another key under this key's id
          const impostor = new SoftwareAuthenticator()
          const other = yield* challengeFor(user.username)
          const forged = { ...impostor.assert(other.challenge, { ...HONEST, counter: 1000 }), credential_id: key.id }
          yield* refusedFor(client.call(WebAuthnApi.webauthnLogin, {
            body: { username: user.username, challenge_id: other.challenge_id, ...forged }
          }), /signature/)

          // the refusals changed nothing: the key still works with a rising counter
          expect((yield* passwordless(user, key, { ...HONEST, counter: 5000 })).user_id).toBe(user.user_id)
        }), HEAVY)

      it.effect("registration with a wrong origin or RP id is refused, and a key registers only once", () =>
        Effect.gen(function* () {
          const user = yield* newUser("badreg")
          const key = new SoftwareAuthenticator()
          for (const ceremony of [{ ...HONEST, origin: "https://evil.example" }, { ...HONEST, rpId: "evil.example" }]) {
            const setup = yield* beginSetup(user)
            const response = yield* rawEndpointRequest(TwoFactorApi.confirmTwoFactorSetup, {}, {
              token: user.token,
              body: { setup_id: setup.setup_id, attestation: key.register(setup.creation_options.challenge, ceremony) }
            })
            expect([response.status, response.body.error.code]).toEqual([401, "WEBAUTHN_INVALID"])
            expect(response.body.error.message).toMatch(ceremony.rpId === RP_ID ? /origin/ : /RP ID/)
          }
          // an attestation for another setup's challenge
          const first = yield* beginSetup(user)
          const second = yield* beginSetup(user)
          yield* refusedFor(user.client.call(TwoFactorApi.confirmTwoFactorSetup, {
            body: { setup_id: second.setup_id, attestation: key.register(first.creation_options.challenge, HONEST) }
          }), /challenge/)
          expect((yield* user.client.call(TwoFactorApi.getTwoFactor)).webauthn_enabled).toBe(false)

          yield* registerKey(user, key)
          yield* refusedFor(registerKey(user, key), /already registered/)
          // nor can someone else claim it
          const thief = yield* newUser("keythief")
          yield* refusedFor(registerKey(thief, key), /already registered/)
        }), HEAVY)

      it.effect("as the second step of a password login, with or without user verification", () =>
        Effect.gen(function* () {
          const user = yield* newUser("twostep")
          const key = new SoftwareAuthenticator()
          const { recovery_codes } = yield* registerKey(user, key)
          const { client } = yield* TestServer

          const login = yield* client.call(AuthApi.login, { body: { username: user.username, password: PASSWORD } })
          if (!AuthApi.isMfaChallenge(login)) throw new Error("expected mfa_required")
          expect(login.available_methods).toEqual(["webauthn", "recovery"])

          const challenge = yield* challengeFor(user.username)
          // a wrong origin counts as a failed attempt
          yield* refusedFor(client.call(TwoFactorApi.loginTwoFactor, {
            body: {
              mfa_ticket: login.mfa_ticket,
              method: "webauthn",
              assertion: key.assert(challenge.challenge, { ...HONEST, origin: "https://evil.example" })
            }
          }), /origin/)
          // that challenge is spent; a fresh one, signed by a key without user verification, passes
          const fresh = yield* challengeFor(user.username)
          const session = yield* client.call(TwoFactorApi.loginTwoFactor, {
            body: {
              mfa_ticket: login.mfa_ticket,
              method: "webauthn",
              assertion: key.assert(fresh.challenge, { ...HONEST, userVerified: false })
            }
          })
          expect(session.user_id).toBe(user.user_id)

          // another user's challenge does not work for this user
          const stranger = yield* newUser("stranger")
          const again = yield* client.call(AuthApi.login, { body: { username: user.username, password: PASSWORD } })
          if (!AuthApi.isMfaChallenge(again)) throw new Error("expected mfa_required")
          const theirs = yield* challengeFor(stranger.username)
          yield* refusedFor(client.call(TwoFactorApi.loginTwoFactor, {
            body: { mfa_ticket: again.mfa_ticket, method: "webauthn", assertion: key.assert(theirs.challenge, HONEST) }
          }), /challenge/)
          // the recovery codes work with a key as the only factor too
          const byCode = yield* client.call(TwoFactorApi.loginTwoFactor, {
            body: { mfa_ticket: again.mfa_ticket, method: "recovery", code: recovery_codes[0]! }
          })
          expect(byCode.user_id).toBe(user.user_id)
        }), HEAVY)

      it.effect("keys are removed one by one; the last one takes the recovery codes with it", () =>
        Effect.gen(function* () {
          const user = yield* newUser("unkey")
          const a = new SoftwareAuthenticator()
          const b = new SoftwareAuthenticator()
          yield* registerKey(user, a, "A")
          yield* registerKey(user, b, "B")
          expect((yield* user.client.call(WebAuthnApi.listWebAuthnCredentials)).credentials.map((c) => c.name)).toEqual(["A", "B"])

          // nobody else can see or remove them
          const other = yield* newUser("notmine")
          expect((yield* other.client.call(WebAuthnApi.listWebAuthnCredentials)).credentials).toEqual([])
          const theirs = yield* rawEndpointRequest(WebAuthnApi.deleteWebAuthnCredential, { credential_id: a.id }, { token: other.token })
          expect([theirs.status, theirs.body.error.code]).toEqual([404, "WEBAUTHN_CREDENTIAL_NOT_FOUND"])

          yield* user.client.call(WebAuthnApi.deleteWebAuthnCredential, { params: { credential_id: a.id } })
          expect(yield* codeOf(passwordless(user, a))).toBe("WEBAUTHN_CREDENTIAL_NOT_FOUND")
          expect(yield* user.client.call(TwoFactorApi.getTwoFactor)).toEqual({
            totp_enabled: false,
            webauthn_enabled: true,
            recovery_codes_left: 8
          })
          // padded base64 names the same key
          const padded = Buffer.from(b.credentialId).toString("base64").replace(/\//g, "_").replace(/\+/g, "-")
          yield* user.client.call(WebAuthnApi.deleteWebAuthnCredential, { params: { credential_id: padded } })
          expect(yield* user.client.call(TwoFactorApi.getTwoFactor)).toEqual({
            totp_enabled: false,
            webauthn_enabled: false,
            recovery_codes_left: 0
          })
          const { client } = yield* TestServer
          expect(AuthApi.isMfaChallenge(yield* client.call(AuthApi.login, { body: { username: user.username, password: PASSWORD } })))
            .toBe(false)
        }), HEAVY)

      it.effect("a challenge for an unknown username looks like any other; challenge ids are not tokens", () =>
        Effect.gen(function* () {
          const nobody = yield* challengeFor("nobody_at_all")
          expect(nobody.credential_ids).toEqual([])
          expect(nobody.challenge_id.startsWith("chall_")).toBe(true)
          const asBearer = yield* rawRequest("GET", "/api/v1/users/@me", { token: nobody.challenge_id })
          expect([asBearer.status, asBearer.body.error.code]).toEqual([401, "AUTH_FAILED"])
        }), HEAVY)
    })

    // A fresh server, so that `owner` is its first account.
    layer(TestServerLive(backend, settings), { excludeTestServices: true })((it) => {
      it.effect("the admin reset removes keys too", () =>
        Effect.gen(function* () {
          const boss = yield* owner
          const user = yield* newUser("lostkeys")
          const key = new SoftwareAuthenticator()
          yield* registerKey(user, key)
          yield* boss.client.call(AdminApi.adminTwoFactorReset, { body: { target_user_id: user.user_id } })
          const { client } = yield* TestServer
          const login = yield* client.login({ username: user.username, password: PASSWORD })
          expect((yield* client.withToken(login.token).call(WebAuthnApi.listWebAuthnCredentials)).credentials).toEqual([])
          expect(yield* codeOf(passwordless(user, key))).toBe("WEBAUTHN_CREDENTIAL_NOT_FOUND")
        }), HEAVY)
    })
  })
}

describe("WebAuthn without an RP id", () => {
  layer(TestServerLive(backends[0]!), { excludeTestServices: true })((it) => {
    it.effect("every WebAuthn endpoint answers 400 WEBAUTHN_NOT_CONFIGURED", () =>
      Effect.gen(function* () {
        const user = yield* newUser("nowebauthn")
        const setup = yield* rawEndpointRequest(TwoFactorApi.beginTwoFactorSetup, {}, { token: user.token, body: { method: "webauthn" } })
        expect([setup.status, setup.body.error.code]).toEqual([400, "WEBAUTHN_NOT_CONFIGURED"])
        const challenge = yield* rawEndpointRequest(WebAuthnApi.webauthnChallenge, {}, { body: { username: user.username } })
        expect([challenge.status, challenge.body.error.code]).toEqual([400, "WEBAUTHN_NOT_CONFIGURED"])
        const login = yield* rawEndpointRequest(WebAuthnApi.webauthnLogin, {}, {
          body: {
            username: user.username,
            challenge_id: "chall_x",
            client_data_json: "e30",
            authenticator_data: "AA",
            signature: "AA",
            credential_id: "AA"
          }
        })
        expect([login.status, login.body.error.code]).toEqual([400, "WEBAUTHN_NOT_CONFIGURED"])
        // TOTP is unaffected
        expect((yield* user.client.call(TwoFactorApi.getTwoFactor)).webauthn_enabled).toBe(false)
      }), HEAVY)
  })
})

describe("WebAuthn settings", () => {
  const load = (auth: NonNullable<VoxConfigFile["auth"]>) => loadVoxConfig({ env: {}, flags: { auth } })
  it.effect("the origin must be on the RP id; a bad server key refuses to start", () =>
    Effect.gen(function* () {
      const ok = yield* load({ webauthn: { rpId: "example.com", origin: "https://chat.example.com" } })
      expect(ok.auth.webauthn.rpName).toBe("Vox")
      yield* load({ webauthn: { rpId: "localhost", origin: "http://localhost:5173" } })
      for (const [auth, setting] of [
        [{ webauthn: { rpId: "example.com", origin: "https://evil.com" } }, "auth.webauthn.origin"],
        [{ webauthn: { rpId: "example.com", origin: "https://notexample.com" } }, "auth.webauthn.origin"],
        [{ webauthn: { rpId: "example.com", origin: "https://example.com/path" } }, "auth.webauthn.origin"],
        [{ webauthn: { origin: "https://example.com" } }, "auth.webauthn.rpId"],
        [{ webauthn: { rpId: "https://example.com" } }, "auth.webauthn.rpId"],
        [{ secretKey: "c2hvcnQ=" }, "auth.secretKey"]
      ] as const) {
        expect((yield* Effect.flip(load(auth))).setting).toBe(setting)
      }
    }))
})
