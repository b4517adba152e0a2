// Two-factor authentication: status, enrolment (TOTP or a WebAuthn security key), removal, and the
// second step of a password login (reference API.md §5 "Login (2FA)", "2FA Management";
// security/two-factor.md).
import { Schema } from "effect"
import { endpoint } from "../endpoint.js"
import { LoginResponse } from "./auth.js"

/** Binary WebAuthn fields travel as base64url (the unpadded, URL-safe base64); padded base64 is accepted too. */
export const Base64 = (max: number) =>
  Schema.String.pipe(
    Schema.pattern(/^[A-Za-z0-9+/_-]*={0,2}$/, { message: () => "Expected base64" }),
    Schema.minLength(1),
    Schema.maxLength(max)
  )

/** A credential id: at most 1023 bytes (WebAuthn Level 2). */
export const CredentialId = Base64(1400)

const TotpCode = Schema.String.pipe(Schema.maxLength(32))

export const TwoFactorStatus = Schema.Struct({
  totp_enabled: Schema.Boolean,
  webauthn_enabled: Schema.Boolean,
  recovery_codes_left: Schema.Number
})
export type TwoFactorStatus = typeof TwoFactorStatus.Type

export const SetupRequest = Schema.Struct({ method: Schema.Literal("totp", "webauthn") })

export const TotpSetup = Schema.Struct({
  setup_id: Schema.String,
  method: Schema.Literal("totp"),
  /** base32, for typing into an authenticator app */
  totp_secret: Schema.String,
  /** the same as an `otpauth://` URI, for a QR code */
  totp_uri: Schema.String
})

/** PublicKeyCredentialCreationOptions in their JSON form (binary fields base64url). */
export const CreationOptions = Schema.Struct({
  rp: Schema.Struct({ name: Schema.String, id: Schema.String }),
  user: Schema.Struct({ id: Schema.String, name: Schema.String, displayName: Schema.String }),
  challenge: Schema.String,
  pubKeyCredParams: Schema.Array(Schema.Struct({ type: Schema.Literal("public-key"), alg: Schema.Number })),
  timeout: Schema.Number,
  attestation: Schema.Literal("none"),
  excludeCredentials: Schema.Array(Schema.Struct({
    type: Schema.Literal("public-key"),
    id: Schema.String,
    transports: Schema.optional(Schema.Array(Schema.String))
  })),
  authenticatorSelection: Schema.Struct({
    residentKey: Schema.Literal("discouraged", "preferred", "required"),
    userVerification: Schema.Literal("discouraged", "preferred", "required")
  })
})
export type CreationOptions = typeof CreationOptions.Type

export const WebAuthnSetup = Schema.Struct({
  setup_id: Schema.String,
  method: Schema.Literal("webauthn"),
  creation_options: CreationOptions
})

export const SetupResponse = Schema.Union(TotpSetup, WebAuthnSetup)
export type SetupResponse = typeof SetupResponse.Type

/** The authenticator's answer to navigator.credentials.create(). */
export const Attestation = Schema.Struct({
  client_data_json: Base64(4096),
  attestation_object: Base64(16384),
  /** Optional: the id is read from the attestation; when given it must match. */
  credential_id: Schema.optional(CredentialId),
  transports: Schema.optional(Schema.Array(Schema.String.pipe(Schema.maxLength(32))).pipe(Schema.maxItems(8)))
})
export type Attestation = typeof Attestation.Type

export const ConfirmTotp = Schema.Struct({ setup_id: Schema.String.pipe(Schema.maxLength(128)), code: TotpCode })
export const ConfirmWebAuthn = Schema.Struct({
  setup_id: Schema.String.pipe(Schema.maxLength(128)),
  attestation: Attestation,
  /** What the key is called in the credential list; default "Security key". */
  credential_name: Schema.optional(Schema.String.pipe(Schema.minLength(1), Schema.maxLength(64)))
})
export const ConfirmRequest = Schema.Union(ConfirmTotp, ConfirmWebAuthn)
export type ConfirmRequest = typeof ConfirmRequest.Type

/**
 * Every successful enrolment issues a new set of recovery codes, replacing any earlier set: they are
 * shown this once and stored only as keyed hashes.
 */
export const ConfirmResponse = Schema.Struct({
  success: Schema.Literal(true),
  recovery_codes: Schema.Array(Schema.String)
})

/** Removes TOTP, proven with a current code. Security keys are removed one by one (webauthn.ts). */
export const RemoveRequest = Schema.Struct({ method: Schema.Literal("totp"), code: TotpCode })

/** A WebAuthn assertion (navigator.credentials.get()), binary fields base64url. */
export const Assertion = Schema.Struct({
  client_data_json: Base64(4096),
  authenticator_data: Base64(4096),
  signature: Base64(2048),
  credential_id: CredentialId,
  user_handle: Schema.optional(Schema.NullOr(Base64(128)))
})
export type Assertion = typeof Assertion.Type

const Ticket = Schema.String.pipe(Schema.maxLength(128))

/**
 * The second step of a password login. A WebAuthn assertion answers a challenge from
 * POST /auth/login/webauthn/challenge; the server finds it by the challenge the client data carries.
 */
export const LoginTwoFactorRequest = Schema.Union(
  Schema.Struct({ mfa_ticket: Ticket, method: Schema.Literal("totp"), code: TotpCode }),
  Schema.Struct({ mfa_ticket: Ticket, method: Schema.Literal("recovery"), code: Schema.String.pipe(Schema.maxLength(32)) }),
  Schema.Struct({ mfa_ticket: Ticket, method: Schema.Literal("webauthn"), assertion: Assertion })
)
export type LoginTwoFactorRequest = typeof LoginTwoFactorRequest.Type

export const getTwoFactor = endpoint({
  name: "getTwoFactor",
  method: "GET",
  path: "/api/v1/auth/2fa",
  access: "account",
  success: TwoFactorStatus
})

export const beginTwoFactorSetup = endpoint({
  name: "beginTwoFactorSetup",
  method: "POST",
  path: "/api/v1/auth/2fa/setup",
  access: "account",
  body: SetupRequest,
  success: SetupResponse
})

export const confirmTwoFactorSetup = endpoint({
  name: "confirmTwoFactorSetup",
  method: "POST",
  path: "/api/v1/auth/2fa/setup/confirm",
  access: "account",
  body: ConfirmRequest,
  success: ConfirmResponse
})

export const removeTwoFactor = endpoint({
  name: "removeTwoFactor",
  method: "DELETE",
  path: "/api/v1/auth/2fa",
  access: "account",
  body: RemoveRequest
})

export const loginTwoFactor = endpoint({
  name: "loginTwoFactor",
  method: "POST",
  path: "/api/v1/auth/login/2fa",
  access: "public",
  body: LoginTwoFactorRequest,
  success: LoginResponse
})
