// Accounts and sessions: reference API.md §5.
import { Schema } from "effect"
import { endpoint } from "../endpoint.js"
import { RoleId, UserId } from "../ids.js"
import { DisplayName, Password, Username } from "./fields.js"

export const SESSION_TOKEN_PREFIX = "vox_sess_"

export const RegisterRequest = Schema.Struct({
  username: Username,
  password: Password,
  display_name: Schema.optional(DisplayName),
  /** Required when registration is invite-only; joins through that invite. */
  invite_code: Schema.optional(Schema.String.pipe(Schema.maxLength(64)))
})

export const RegisterResponse = Schema.Struct({
  user_id: UserId,
  token: Schema.String
})

export const LoginRequest = Schema.Struct({
  // Not the registration rules: a login with a malformed name is just a failed login (no enumeration).
  username: Schema.String.pipe(Schema.maxLength(256)),
  password: Schema.String.pipe(Schema.maxLength(1024))
})

export const LoginResponse = Schema.Struct({
  token: Schema.String,
  user_id: UserId,
  display_name: Schema.String,
  roles: Schema.Array(RoleId)
})

/** The second factors an account can complete a password login with (reference API.md §5). */
export const MfaMethod = Schema.Literal("totp", "webauthn", "recovery")
export type MfaMethod = typeof MfaMethod.Type

export const MFA_TICKET_PREFIX = "mfa_"

/**
 * A correct password for an account with two-factor authentication: no session yet. The ticket is
 * short-lived, good for a few attempts at POST /auth/login/2fa, and nothing else (not a session token).
 */
export const MfaChallenge = Schema.Struct({
  mfa_required: Schema.Literal(true),
  mfa_ticket: Schema.String,
  available_methods: Schema.Array(MfaMethod)
})
export type MfaChallenge = typeof MfaChallenge.Type

/** What a password login answers: a session, or the demand for a second factor. */
export const LoginResult = Schema.Union(LoginResponse, MfaChallenge)
export type LoginResult = typeof LoginResult.Type

export const isMfaChallenge = (result: LoginResult): result is MfaChallenge => "mfa_required" in result

export const register = endpoint({
  name: "register",
  method: "POST",
  path: "/api/v1/auth/register",
  access: "public",
  body: RegisterRequest,
  success: RegisterResponse,
  status: 201
})

export const login = endpoint({
  name: "login",
  method: "POST",
  path: "/api/v1/auth/login",
  access: "public",
  body: LoginRequest,
  success: LoginResult
})

export const logout = endpoint({
  name: "logout",
  method: "POST",
  path: "/api/v1/auth/logout",
  access: "account"
})
