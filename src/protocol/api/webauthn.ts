// WebAuthn: passwordless login with a registered security key or passkey, and the caller's list of
// credentials (reference API.md §5 "Login (WebAuthn Passwordless)", "WebAuthn Challenge",
// "List/Delete WebAuthn Credential"). Keys are registered through POST /auth/2fa/setup (twoFactor.ts).
import { Schema } from "effect"
import { endpoint } from "../endpoint.js"
import { LoginResponse } from "./auth.js"
import { UnixSeconds } from "./fields.js"
import { Base64, CredentialId } from "./twoFactor.js"

const LoginName = Schema.String.pipe(Schema.maxLength(256))

export const ChallengeRequest = Schema.Struct({ username: LoginName })

/** Good for one assertion, for a few minutes. */
export const ChallengeResponse = Schema.Struct({
  challenge_id: Schema.String,
  /** base64url: what the authenticator signs */
  challenge: Schema.String,
  /** the user's credential ids (base64url), for allowCredentials */
  credential_ids: Schema.Array(Schema.String)
})

export const WebAuthnLoginRequest = Schema.Struct({
  username: LoginName,
  challenge_id: Schema.String.pipe(Schema.maxLength(128)),
  client_data_json: Base64(4096),
  authenticator_data: Base64(4096),
  signature: Base64(2048),
  credential_id: CredentialId,
  user_handle: Schema.optional(Schema.NullOr(Base64(128)))
})
export type WebAuthnLoginRequest = typeof WebAuthnLoginRequest.Type

export const WebAuthnCredential = Schema.Struct({
  credential_id: Schema.String,
  name: Schema.String,
  registered_at: UnixSeconds,
  last_used_at: Schema.NullOr(UnixSeconds)
})
export type WebAuthnCredential = typeof WebAuthnCredential.Type

export const CredentialList = Schema.Struct({ credentials: Schema.Array(WebAuthnCredential) })

export const webauthnChallenge = endpoint({
  name: "webauthnChallenge",
  method: "POST",
  path: "/api/v1/auth/login/webauthn/challenge",
  access: "public",
  body: ChallengeRequest,
  success: ChallengeResponse
})

export const webauthnLogin = endpoint({
  name: "webauthnLogin",
  method: "POST",
  path: "/api/v1/auth/login/webauthn",
  access: "public",
  body: WebAuthnLoginRequest,
  success: LoginResponse
})

export const listWebAuthnCredentials = endpoint({
  name: "listWebAuthnCredentials",
  method: "GET",
  path: "/api/v1/auth/webauthn/credentials",
  access: "account",
  success: CredentialList
})

export const deleteWebAuthnCredential = endpoint({
  name: "deleteWebAuthnCredential",
  method: "DELETE",
  path: "/api/v1/auth/webauthn/credentials/:credential_id",
  access: "account",
  params: Schema.Struct({ credential_id: CredentialId })
})
