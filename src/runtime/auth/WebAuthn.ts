// The WebAuthn relying party (@simplewebauthn/server): creation options, attestation and assertion
// checks against the configured RP id and origin. No storage here: the caller supplies the expected
// challenge and the stored credential, and keeps the new signature counter.
import {
  generateRegistrationOptions,
  verifyAuthenticationResponse,
  verifyRegistrationResponse
} from "@simplewebauthn/server"
import { decodeAttestationObject, parseAuthenticatorData } from "@simplewebauthn/server/helpers"
import { Effect, Option, Schema } from "effect"
import type { Assertion, Attestation, CreationOptions } from "../../protocol/api/twoFactor.js"
import { WebAuthnInvalid, WebAuthnNotConfigured } from "../../protocol/errors.js"
import type { VoxConfigShape } from "../config/VoxConfig.js"

export interface RelyingParty {
  readonly id: string
  readonly name: string
  readonly origin: string
}

/** The relying party of this server, or WEBAUTHN_NOT_CONFIGURED while `auth.webauthn.rpId` is unset. */
export const relyingParty = (config: VoxConfigShape): Effect.Effect<RelyingParty, WebAuthnNotConfigured> =>
  Option.match(config.auth.webauthn.rpId, {
    onNone: () => Effect.fail(new WebAuthnNotConfigured()),
    onSome: (id) =>
      Effect.succeed({
        id,
        name: config.auth.webauthn.rpName,
        origin: Option.getOrElse(config.auth.webauthn.origin, () => `https://${id}`).replace(/\/+$/, "")
      })
  })

/** base64 or base64url in, base64url (unpadded) out: the form ids are stored and compared in. */
export const toBase64Url = (text: string) => text.replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "")

const invalid = (cause: unknown) =>
  new WebAuthnInvalid({ message: `WebAuthn verification failed: ${cause instanceof Error ? cause.message : String(cause)}` })

export const CHALLENGE_TIMEOUT_MS = 60_000

/** Options for navigator.credentials.create(), with the challenge to expect back. */
export const creationOptions = (rp: RelyingParty, user: {
  readonly handle: Uint8Array
  readonly name: string
  readonly displayName: string
  readonly exclude: ReadonlyArray<{ readonly id: string; readonly transports: ReadonlyArray<string> }>
}) =>
  Effect.promise(() =>
    generateRegistrationOptions({
      rpName: rp.name,
      rpID: rp.id,
      userName: user.name,
      userDisplayName: user.displayName,
      userID: new Uint8Array(user.handle),
      timeout: CHALLENGE_TIMEOUT_MS,
      attestationType: "none",
      excludeCredentials: user.exclude.map((c) => ({ id: c.id, transports: [...c.transports] })),
      authenticatorSelection: { residentKey: "preferred", userVerification: "preferred" }
    })
  ).pipe(Effect.map((o): CreationOptions => ({
    rp: { name: o.rp.name, id: rp.id },
    user: { id: o.user.id, name: o.user.name, displayName: o.user.displayName },
    challenge: o.challenge,
    pubKeyCredParams: o.pubKeyCredParams.map((p) => ({ type: "public-key" as const, alg: p.alg })),
    timeout: o.timeout ?? CHALLENGE_TIMEOUT_MS,
    attestation: "none",
    excludeCredentials: (o.excludeCredentials ?? []).map((c) => ({
      type: "public-key" as const,
      id: c.id,
      ...(c.transports === undefined ? {} : { transports: [...c.transports] })
    })),
    authenticatorSelection: { residentKey: "preferred", userVerification: "preferred" }
  })))

export interface NewCredential {
  readonly id: string
  /** COSE public key, base64url */
  readonly publicKey: string
  readonly counter: number
}

/** The credential id inside an attestation object's authenticator data. */
const attestedCredentialId = (attestationObject: string) =>
  Effect.try({
    try: () => {
      const authData = decodeAttestationObject(Buffer.from(attestationObject, "base64url")).get("authData")
      const id = parseAuthenticatorData(authData).credentialID
      return id === undefined ? undefined : Buffer.from(id).toString("base64url")
    },
    catch: invalid
  }).pipe(Effect.flatMap((id) => id === undefined ? Effect.fail(invalid("no credential in the attestation")) : Effect.succeed(id)))

/**
 * Checks an attestation ("none" or any format the library verifies) made for `expectedChallenge`, on
 * our origin and RP id. User verification is not required: a key used as a second factor may lack it.
 */
export const verifyAttestation = (rp: RelyingParty, attestation: Attestation, expectedChallenge: string) =>
  Effect.gen(function* () {
    const attestationObject = toBase64Url(attestation.attestation_object)
    const id = yield* attestedCredentialId(attestationObject)
    if (attestation.credential_id !== undefined && toBase64Url(attestation.credential_id) !== id) {
      return yield* invalid("credential_id is not the attested credential")
    }
    const result = yield* Effect.tryPromise({
      try: () =>
        verifyRegistrationResponse({
          response: {
            id,
            rawId: id,
            type: "public-key",
            response: {
              clientDataJSON: toBase64Url(attestation.client_data_json),
              attestationObject,
              ...(attestation.transports === undefined ? {} : { transports: [...attestation.transports] as Array<never> })
            },
            clientExtensionResults: {}
          },
          expectedChallenge,
          expectedOrigin: rp.origin,
          expectedRPID: rp.id,
          requireUserVerification: false
        }),
      catch: invalid
    })
    if (!result.verified) return yield* invalid("the attestation does not verify")
    const credential = result.registrationInfo.credential
    const created: NewCredential = {
      id: credential.id,
      publicKey: Buffer.from(credential.publicKey).toString("base64url"),
      counter: credential.counter
    }
    return created
  })

const ClientData = Schema.parseJson(Schema.Struct({ challenge: Schema.String }))

/** The challenge an assertion's client data answers (base64url), to find the stored challenge by. */
export const answeredChallenge = (clientDataJson: string) =>
  Schema.decodeUnknown(ClientData)(Buffer.from(toBase64Url(clientDataJson), "base64url").toString("utf8")).pipe(
    Effect.map((data) => data.challenge),
    Effect.mapError(() => invalid("malformed client data"))
  )

export interface StoredCredential {
  readonly id: string
  readonly publicKey: string
  readonly counter: number
}

/**
 * Checks an assertion for `expectedChallenge` with the stored credential: origin, RP id, signature,
 * user presence, and a signature counter above the stored one (a cloned key replays old counters).
 * `userVerified` is demanded for passwordless login, where the key is the only factor.
 * Returns the new counter.
 */
export const verifyAssertion = (rp: RelyingParty, input: {
  readonly assertion: Omit<Assertion, "user_handle">
  readonly expectedChallenge: string
  readonly credential: StoredCredential
  readonly requireUserVerification: boolean
}) =>
  Effect.tryPromise({
    try: () =>
      verifyAuthenticationResponse({
        response: {
          id: input.credential.id,
          rawId: input.credential.id,
          type: "public-key",
          response: {
            clientDataJSON: toBase64Url(input.assertion.client_data_json),
            authenticatorData: toBase64Url(input.assertion.authenticator_data),
            signature: toBase64Url(input.assertion.signature)
          },
          clientExtensionResults: {}
        },
        expectedChallenge: input.expectedChallenge,
        expectedOrigin: rp.origin,
        expectedRPID: rp.id,
        credential: {
          id: input.credential.id,
          publicKey: new Uint8Array(Buffer.from(input.credential.publicKey, "base64url")),
          counter: input.credential.counter
        },
        requireUserVerification: input.requireUserVerification
      }),
    catch: invalid
  }).pipe(
    Effect.flatMap((result) =>
      result.verified ? Effect.succeed(result.authenticationInfo.newCounter) : Effect.fail(invalid("the signature does not verify"))
    )
  )
