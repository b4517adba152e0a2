// The signed-in user's sessions and password. The reference has no endpoints for these (seed 001
// asks for "session management with device listing and revocation"); they sit beside /auth/logout.
import { Schema } from "effect"
import { endpoint } from "../endpoint.js"
import { Snowflake, SnowflakeFromString } from "../snowflake.js"
import { Password, Timestamp } from "./fields.js"

/** One signed-in device or client of the caller. */
export const Session = Schema.Struct({
  session_id: Snowflake,
  /** The session making this request. */
  current: Schema.Boolean,
  /** The User-Agent it signed in with: what tells one device from another. */
  user_agent: Schema.NullOr(Schema.String),
  /** The address it signed in from. */
  ip: Schema.NullOr(Schema.String),
  created_at: Timestamp,
  /** Accurate to about a minute. */
  last_used_at: Timestamp,
  expires_at: Timestamp
})
export type Session = typeof Session.Type

export const SessionList = Schema.Struct({
  /** Most recently used first. */
  sessions: Schema.Array(Session)
})

export const RevokedSessions = Schema.Struct({
  /** How many sessions ended. */
  revoked: Schema.Number
})

export const ChangePasswordRequest = Schema.Struct({
  current_password: Schema.String.pipe(Schema.maxLength(1024)),
  new_password: Password
})

export const listSessions = endpoint({
  name: "listSessions",
  method: "GET",
  path: "/api/v1/auth/sessions",
  access: "account",
  success: SessionList
})

/** Ends one of the caller's sessions (the current one too: that is a logout). */
export const revokeSession = endpoint({
  name: "revokeSession",
  method: "DELETE",
  path: "/api/v1/auth/sessions/:session_id",
  access: "account",
  params: Schema.Struct({ session_id: SnowflakeFromString })
})

/** Ends every session of the caller but the one making this request. */
export const revokeOtherSessions = endpoint({
  name: "revokeOtherSessions",
  method: "POST",
  path: "/api/v1/auth/sessions/revoke-others",
  access: "account",
  success: RevokedSessions
})

/** Changes the caller's password and ends every other session. */
export const changePassword = endpoint({
  name: "changePassword",
  method: "POST",
  path: "/api/v1/auth/password",
  access: "account",
  body: ChangePasswordRequest
})
