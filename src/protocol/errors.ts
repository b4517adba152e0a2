// Every protocol error code with its HTTP status (seed 002 §10, reference API.md §3 and errors.md),
// and the typed errors the server raises and the SDK decodes. The wire body of every error is
// `{"error": {"code", "message", ...extra}}` where `extra` are the class's own fields.
import { Schema } from "effect"

export const ErrorStatus = {
  // 400
  PROTOCOL_VERSION_MISMATCH: 400,
  GATEWAY_VERSION_MISMATCH: 400,
  MESSAGE_TOO_LARGE: 400,
  SPACE_TYPE_MISMATCH: 400,
  EMPTY_MESSAGE: 400,
  WEBAUTHN_NOT_CONFIGURED: 400,
  PIN_LIMIT_REACHED: 400,
  NO_CERT_PINNING: 400,
  INVALID_BODY: 400,
  MISSING_FIELD: 400,
  LIMIT_REACHED: 400,
  // 401
  AUTH_FAILED: 401,
  AUTH_EXPIRED: 401,
  UNAUTHORIZED: 401,
  MFA_REQUIRED: 401,
  "2FA_REQUIRED": 401,
  "2FA_INVALID_CODE": 401,
  "2FA_MAX_ATTEMPTS": 401,
  WEBAUTHN_INVALID: 401,
  WEBAUTHN_FAILED: 401,
  WEBHOOK_TOKEN_INVALID: 401,
  // 403
  FORBIDDEN: 403,
  MISSING_PERMISSIONS: 403,
  BANNED: 403,
  SUSPENDED: 403,
  ROLE_HIERARCHY: 403,
  DM_PERMISSION_DENIED: 403,
  USER_BLOCKED: 403,
  FEDERATION_DENIED: 403,
  FED_BLOCKED: 403,
  FED_POLICY_DENIED: 403,
  REGISTRATION_CLOSED: 403,
  // 404
  NOT_FOUND: 404,
  USER_NOT_FOUND: 404,
  SPACE_NOT_FOUND: 404,
  MESSAGE_NOT_FOUND: 404,
  THREAD_NOT_FOUND: 404,
  FILE_NOT_FOUND: 404,
  REPORT_NOT_FOUND: 404,
  INVITE_NOT_FOUND: 404,
  ROLE_NOT_FOUND: 404,
  CATEGORY_NOT_FOUND: 404,
  EMOJI_NOT_FOUND: 404,
  STICKER_NOT_FOUND: 404,
  CMD_NOT_FOUND: 404,
  WEBHOOK_NOT_FOUND: 404,
  KEY_BACKUP_NOT_FOUND: 404,
  WEBAUTHN_CREDENTIAL_NOT_FOUND: 404,
  INTERACTION_NOT_FOUND: 404,
  SESSION_NOT_FOUND: 404,
  DEVICE_NOT_FOUND: 404,
  DEVICE_PAIR_NOT_FOUND: 404,
  // 405
  METHOD_NOT_ALLOWED: 405,
  // 409
  ALREADY_IN_VOICE: 409,
  CMD_ALREADY_REGISTERED: 409,
  "2FA_ALREADY_ENABLED": 409,
  USERNAME_TAKEN: 409,
  REPORT_ALREADY_RESOLVED: 409,
  // 410
  INVITE_EXPIRED: 410,
  INTERACTION_EXPIRED: 410,
  "2FA_SETUP_EXPIRED": 410,
  DEVICE_PAIR_EXPIRED: 410,
  CPACE_EXPIRED: 410,
  // 413
  FILE_TOO_LARGE: 413,
  PAYLOAD_TOO_LARGE: 413,
  // 415
  UNSUPPORTED_MEDIA_TYPE: 415,
  // 422
  INVITE_INVALID: 422,
  EMBED_UNAVAILABLE: 422,
  "2FA_NOT_ENABLED": 422,
  "2FA_RECOVERY_EXHAUSTED": 422,
  CPACE_FAILED: 422,
  VALIDATION_ERROR: 422,
  E2E_KEY_MISMATCH: 422,
  UNSUPPORTED_CODEC: 422,
  DEVICE_PAIR_DENIED: 403,
  // 429
  RATE_LIMITED: 429,
  AUTH_RATE_LIMITED: 429,
  // 500
  UNKNOWN_ERROR: 500,
  // 502
  FEDERATION_UNAVAILABLE: 502,
  FED_UNAVAILABLE: 502,
  // 503
  SERVER_FULL: 503,
  ROOM_FULL: 503,
  PREKEY_EXHAUSTED: 503,
  DEVICE_LIMIT_REACHED: 503,
  SERVICE_UNAVAILABLE: 503
} as const

export type ErrorCode = keyof typeof ErrorStatus

export const statusOf = (code: string): number =>
  code in ErrorStatus ? ErrorStatus[code as ErrorCode] : 500

const message = (text: string) => Schema.optionalWith(Schema.String, { default: () => text })

/** One issue of a failed validation: where (`path`) and what. */
export const ValidationIssue = Schema.Struct({
  path: Schema.Array(Schema.Union(Schema.String, Schema.Number)),
  message: Schema.String
})
export type ValidationIssue = typeof ValidationIssue.Type

// --- request shape -------------------------------------------------------------------------------

export class InvalidBody extends Schema.TaggedError<InvalidBody>()("InvalidBody", {
  message: message("The request is invalid."),
  location: Schema.optional(Schema.Literal("body", "query", "path", "header")),
  issues: Schema.optional(Schema.Array(ValidationIssue))
}) {
  get code() {
    return "INVALID_BODY" as const
  }
}

export class PayloadTooLarge extends Schema.TaggedError<PayloadTooLarge>()("PayloadTooLarge", {
  message: message("The request body is too large."),
  max_bytes: Schema.Number
}) {
  get code() {
    return "PAYLOAD_TOO_LARGE" as const
  }
}

export class UnsupportedMediaType extends Schema.TaggedError<UnsupportedMediaType>()("UnsupportedMediaType", {
  message: message("Request bodies must be application/json.")
}) {
  get code() {
    return "UNSUPPORTED_MEDIA_TYPE" as const
  }
}

export class RouteNotFound extends Schema.TaggedError<RouteNotFound>()("RouteNotFound", {
  message: message("No such endpoint.")
}) {
  get code() {
    return "NOT_FOUND" as const
  }
}

export class MethodNotAllowed extends Schema.TaggedError<MethodNotAllowed>()("MethodNotAllowed", {
  message: message("This endpoint does not accept that method."),
  allow: Schema.Array(Schema.String)
}) {
  get code() {
    return "METHOD_NOT_ALLOWED" as const
  }
}

// --- authentication ------------------------------------------------------------------------------

export class AuthFailed extends Schema.TaggedError<AuthFailed>()("AuthFailed", {
  message: message("Authentication failed.")
}) {
  get code() {
    return "AUTH_FAILED" as const
  }
}

export class AuthExpired extends Schema.TaggedError<AuthExpired>()("AuthExpired", {
  message: message("The session has expired.")
}) {
  get code() {
    return "AUTH_EXPIRED" as const
  }
}

export class UsernameTaken extends Schema.TaggedError<UsernameTaken>()("UsernameTaken", {
  message: message("That username is already registered.")
}) {
  get code() {
    return "USERNAME_TAKEN" as const
  }
}

export class RegistrationClosed extends Schema.TaggedError<RegistrationClosed>()("RegistrationClosed", {
  message: message("Registration is closed on this server.")
}) {
  get code() {
    return "REGISTRATION_CLOSED" as const
  }
}

export class AccountSuspended extends Schema.TaggedError<AccountSuspended>()("AccountSuspended", {
  message: message("This account is suspended.")
}) {
  get code() {
    return "SUSPENDED" as const
  }
}

// --- two-factor authentication (reference API.md §5, security/two-factor.md) ----------------------

/** A wrong, expired or already used TOTP code, or a recovery code that is not one of the account's. */
export class TwoFactorInvalidCode extends Schema.TaggedError<TwoFactorInvalidCode>()("TwoFactorInvalidCode", {
  message: message("The two-factor code is incorrect or expired.")
}) {
  get code() {
    return "2FA_INVALID_CODE" as const
  }
}

/** The login ticket took too many wrong second factors: it is dead, log in again. */
export class TwoFactorMaxAttempts extends Schema.TaggedError<TwoFactorMaxAttempts>()("TwoFactorMaxAttempts", {
  message: message("Too many failed two-factor attempts; log in again.")
}) {
  get code() {
    return "2FA_MAX_ATTEMPTS" as const
  }
}

export class TwoFactorAlreadyEnabled extends Schema.TaggedError<TwoFactorAlreadyEnabled>()("TwoFactorAlreadyEnabled", {
  message: message("This two-factor method is already enrolled.")
}) {
  get code() {
    return "2FA_ALREADY_ENABLED" as const
  }
}

export class TwoFactorNotEnabled extends Schema.TaggedError<TwoFactorNotEnabled>()("TwoFactorNotEnabled", {
  message: message("This two-factor method is not enabled.")
}) {
  get code() {
    return "2FA_NOT_ENABLED" as const
  }
}

/** An unknown, expired, finished or exhausted setup_id. */
export class TwoFactorSetupExpired extends Schema.TaggedError<TwoFactorSetupExpired>()("TwoFactorSetupExpired", {
  message: message("This two-factor setup has expired; start again.")
}) {
  get code() {
    return "2FA_SETUP_EXPIRED" as const
  }
}

/** The account has no unused recovery code left. */
export class TwoFactorRecoveryExhausted extends Schema.TaggedError<TwoFactorRecoveryExhausted>()(
  "TwoFactorRecoveryExhausted",
  { message: message("All recovery codes have been used.") }
) {
  get code() {
    return "2FA_RECOVERY_EXHAUSTED" as const
  }
}

/** `auth.webauthn.rpId` is not set on this server. */
export class WebAuthnNotConfigured extends Schema.TaggedError<WebAuthnNotConfigured>()("WebAuthnNotConfigured", {
  message: message("WebAuthn is not configured on this server.")
}) {
  get code() {
    return "WEBAUTHN_NOT_CONFIGURED" as const
  }
}

/** An attestation or assertion that does not verify: challenge, origin, RP id, signature or counter. */
export class WebAuthnInvalid extends Schema.TaggedError<WebAuthnInvalid>()("WebAuthnInvalid", {
  message: message("WebAuthn verification failed.")
}) {
  get code() {
    return "WEBAUTHN_INVALID" as const
  }
}

export class WebAuthnCredentialNotFound extends Schema.TaggedError<WebAuthnCredentialNotFound>()(
  "WebAuthnCredentialNotFound",
  { message: message("WebAuthn credential not found.") }
) {
  get code() {
    return "WEBAUTHN_CREDENTIAL_NOT_FOUND" as const
  }
}

// --- permission ----------------------------------------------------------------------------------

export class Forbidden extends Schema.TaggedError<Forbidden>()("Forbidden", {
  message: message("You do not have permission to do that."),
  missing_permission: Schema.optional(Schema.String)
}) {
  get code() {
    return "FORBIDDEN" as const
  }
}

export class Banned extends Schema.TaggedError<Banned>()("Banned", {
  message: message("You are banned from this server.")
}) {
  get code() {
    return "BANNED" as const
  }
}

export class RoleHierarchy extends Schema.TaggedError<RoleHierarchy>()("RoleHierarchy", {
  message: message("You cannot act on a role at or above your own highest role.")
}) {
  get code() {
    return "ROLE_HIERARCHY" as const
  }
}

/** The recipient's dm-settings do not let the caller start a DM with them (seed 002 §12). */
export class DmPermissionDenied extends Schema.TaggedError<DmPermissionDenied>()("DmPermissionDenied", {
  message: message("This user does not accept DMs from you.")
}) {
  get code() {
    return "DM_PERMISSION_DENIED" as const
  }
}

/** A block stands between the caller and this user, whichever of the two made it (seed 002 §12). */
export class UserBlocked extends Schema.TaggedError<UserBlocked>()("UserBlocked", {
  message: message("A block stands between you and this user.")
}) {
  get code() {
    return "USER_BLOCKED" as const
  }
}

// --- not found -----------------------------------------------------------------------------------

export class UserNotFound extends Schema.TaggedError<UserNotFound>()("UserNotFound", {
  message: message("User not found.")
}) {
  get code() {
    return "USER_NOT_FOUND" as const
  }
}

export class SpaceNotFound extends Schema.TaggedError<SpaceNotFound>()("SpaceNotFound", {
  message: message("Feed or room not found.")
}) {
  get code() {
    return "SPACE_NOT_FOUND" as const
  }
}

export class MessageNotFound extends Schema.TaggedError<MessageNotFound>()("MessageNotFound", {
  message: message("Message not found.")
}) {
  get code() {
    return "MESSAGE_NOT_FOUND" as const
  }
}

export class ThreadNotFound extends Schema.TaggedError<ThreadNotFound>()("ThreadNotFound", {
  message: message("Thread not found.")
}) {
  get code() {
    return "THREAD_NOT_FOUND" as const
  }
}

export class RoleNotFound extends Schema.TaggedError<RoleNotFound>()("RoleNotFound", {
  message: message("Role not found.")
}) {
  get code() {
    return "ROLE_NOT_FOUND" as const
  }
}

/** An unknown session id, or one of someone else's sessions (not told apart). */
export class SessionNotFound extends Schema.TaggedError<SessionNotFound>()("SessionNotFound", {
  message: message("Session not found.")
}) {
  get code() {
    return "SESSION_NOT_FOUND" as const
  }
}

export class CategoryNotFound extends Schema.TaggedError<CategoryNotFound>()("CategoryNotFound", {
  message: message("Category not found.")
}) {
  get code() {
    return "CATEGORY_NOT_FOUND" as const
  }
}

/** An unknown custom emoji id, or a reaction's `name:id` naming no emoji of this server. */
export class EmojiNotFound extends Schema.TaggedError<EmojiNotFound>()("EmojiNotFound", {
  message: message("Emoji not found.")
}) {
  get code() {
    return "EMOJI_NOT_FOUND" as const
  }
}

export class StickerNotFound extends Schema.TaggedError<StickerNotFound>()("StickerNotFound", {
  message: message("Sticker not found.")
}) {
  get code() {
    return "STICKER_NOT_FOUND" as const
  }
}

export class ReportNotFound extends Schema.TaggedError<ReportNotFound>()("ReportNotFound", {
  message: message("Report not found.")
}) {
  get code() {
    return "REPORT_NOT_FOUND" as const
  }
}

/** A report is resolved once: its action was carried out then (not in the reference: Vox's own code). */
export class ReportAlreadyResolved extends Schema.TaggedError<ReportAlreadyResolved>()("ReportAlreadyResolved", {
  message: message("This report has already been resolved.")
}) {
  get code() {
    return "REPORT_ALREADY_RESOLVED" as const
  }
}

// --- invites -------------------------------------------------------------------------------------

export class InviteExpired extends Schema.TaggedError<InviteExpired>()("InviteExpired", {
  message: message("This invite has expired.")
}) {
  get code() {
    return "INVITE_EXPIRED" as const
  }
}

/** An unknown code, or one whose uses are all spent. */
export class InviteInvalid extends Schema.TaggedError<InviteInvalid>()("InviteInvalid", {
  message: message("This invite is not valid.")
}) {
  get code() {
    return "INVITE_INVALID" as const
  }
}

// --- capacity / limits ---------------------------------------------------------------------------

export class RateLimited extends Schema.TaggedError<RateLimited>()("RateLimited", {
  message: message("You are being rate limited."),
  retry_after_ms: Schema.Number
}) {
  get code() {
    return "RATE_LIMITED" as const
  }
}

export class ServerFull extends Schema.TaggedError<ServerFull>()("ServerFull", {
  message: message("The server has reached its member capacity.")
}) {
  get code() {
    return "SERVER_FULL" as const
  }
}

/** A server limit (GET /api/v1/server/limits) would be exceeded: `limit` names it. */
export class LimitReached extends Schema.TaggedError<LimitReached>()("LimitReached", {
  message: message("A server limit has been reached."),
  limit: Schema.String,
  max: Schema.Number
}) {
  get code() {
    return "LIMIT_REACHED" as const
  }
}

/** A message sent to a room, or an operation on the wrong kind of feed. */
export class SpaceTypeMismatch extends Schema.TaggedError<SpaceTypeMismatch>()("SpaceTypeMismatch", {
  message: message("That operation does not apply to this kind of space.")
}) {
  get code() {
    return "SPACE_TYPE_MISMATCH" as const
  }
}

export class EmptyMessage extends Schema.TaggedError<EmptyMessage>()("EmptyMessage", {
  message: message("A message needs a body, an attachment or an embed.")
}) {
  get code() {
    return "EMPTY_MESSAGE" as const
  }
}

export class PinLimitReached extends Schema.TaggedError<PinLimitReached>()("PinLimitReached", {
  message: message("This feed has reached its pin limit."),
  max: Schema.Number
}) {
  get code() {
    return "PIN_LIMIT_REACHED" as const
  }
}

export class FileTooLarge extends Schema.TaggedError<FileTooLarge>()("FileTooLarge", {
  message: message("The file exceeds the upload size limit."),
  max_bytes: Schema.Number
}) {
  get code() {
    return "FILE_TOO_LARGE" as const
  }
}

/** An unknown file id, or one that is not a file id at all (GET /api/v1/files/{file_id}). */
export class FileNotFound extends Schema.TaggedError<FileNotFound>()("FileNotFound", {
  message: message("File not found.")
}) {
  get code() {
    return "FILE_NOT_FOUND" as const
  }
}

export class MessageTooLarge extends Schema.TaggedError<MessageTooLarge>()("MessageTooLarge", {
  message: message("The message body exceeds the size limit."),
  max_bytes: Schema.optional(Schema.Number)
}) {
  get code() {
    return "MESSAGE_TOO_LARGE" as const
  }
}

/** Why a link preview could not be made (POST /api/v1/embeds/resolve). */
export const EmbedFailure = Schema.Literal(
  "invalid_url", // not http(s), or a redirect to something that is not
  "blocked_port", // a port other than 80/443
  "blocked_address", // the host is or resolves to a loopback, private, link-local or other non-public address
  "unresolvable", // the host name does not resolve
  "unreachable", // no connection, or the connection failed
  "timeout", // the whole resolution took longer than allowed
  "too_many_redirects",
  "http_status", // the page answered with a status other than 2xx
  "unsupported_content", // neither HTML nor an image or video
  "no_metadata" // HTML without a title, a description, an image or a video
)
export type EmbedFailure = typeof EmbedFailure.Type

export class EmbedUnavailable extends Schema.TaggedError<EmbedUnavailable>()("EmbedUnavailable", {
  message: message("No preview can be made for this URL."),
  reason: EmbedFailure
}) {
  get code() {
    return "EMBED_UNAVAILABLE" as const
  }
}

// --- end-to-end encryption keys (seed 002 §8) -----------------------------------------------------

/** No device of that id among the caller's. */
export class DeviceNotFound extends Schema.TaggedError<DeviceNotFound>()("DeviceNotFound", {
  message: message("Device not found.")
}) {
  get code() {
    return "DEVICE_NOT_FOUND" as const
  }
}

/** The user already has as many devices as the server allows (`max_devices_per_user`). */
export class DeviceLimitReached extends Schema.TaggedError<DeviceLimitReached>()("DeviceLimitReached", {
  message: message("The maximum number of devices has been reached."),
  max: Schema.Number
}) {
  get code() {
    return "DEVICE_LIMIT_REACHED" as const
  }
}

/** None of the user's devices has a key package left to hand out. */
export class PrekeyExhausted extends Schema.TaggedError<PrekeyExhausted>()("PrekeyExhausted", {
  message: message("No prekeys are available for this user.")
}) {
  get code() {
    return "PREKEY_EXHAUSTED" as const
  }
}

export class KeyBackupNotFound extends Schema.TaggedError<KeyBackupNotFound>()("KeyBackupNotFound", {
  message: message("No key backup exists.")
}) {
  get code() {
    return "KEY_BACKUP_NOT_FOUND" as const
  }
}

/** No pairing of that id among the caller's own. */
export class DevicePairNotFound extends Schema.TaggedError<DevicePairNotFound>()("DevicePairNotFound", {
  message: message("Pairing request not found.")
}) {
  get code() {
    return "DEVICE_PAIR_NOT_FOUND" as const
  }
}

export class DevicePairExpired extends Schema.TaggedError<DevicePairExpired>()("DevicePairExpired", {
  message: message("The pairing request has expired.")
}) {
  get code() {
    return "DEVICE_PAIR_EXPIRED" as const
  }
}

/** A CPace pairing past its 5 minutes (seed 002 §10); other methods answer DEVICE_PAIR_EXPIRED. */
export class CPaceExpired extends Schema.TaggedError<CPaceExpired>()("CPaceExpired", {
  message: message("The CPace pairing session has expired.")
}) {
  get code() {
    return "CPACE_EXPIRED" as const
  }
}

export class DevicePairDenied extends Schema.TaggedError<DevicePairDenied>()("DevicePairDenied", {
  message: message("The pairing request was denied.")
}) {
  get code() {
    return "DEVICE_PAIR_DENIED" as const
  }
}

// --- server side ---------------------------------------------------------------------------------

export class ServiceUnavailable extends Schema.TaggedError<ServiceUnavailable>()("ServiceUnavailable", {
  message: message("The server is temporarily unavailable.")
}) {
  get code() {
    return "SERVICE_UNAVAILABLE" as const
  }
}

export class UnknownError extends Schema.TaggedError<UnknownError>()("UnknownError", {
  message: message("An unexpected server error occurred.")
}) {
  get code() {
    return "UNKNOWN_ERROR" as const
  }
}

/**
 * An error whose code the SDK has no class for (a newer server, or a code not raised yet):
 * it still carries the code, status and every extra field.
 */
export class ApiError extends Schema.TaggedError<ApiError>()("ApiError", {
  code: Schema.String,
  status: Schema.Number,
  message: Schema.String,
  extra: Schema.Record({ key: Schema.String, value: Schema.Unknown })
}) {}

/** Every error class the server raises, by protocol code; the SDK decodes bodies with it. */
export const ProtocolErrors = [
  InvalidBody,
  PayloadTooLarge,
  UnsupportedMediaType,
  RouteNotFound,
  MethodNotAllowed,
  AuthFailed,
  AuthExpired,
  UsernameTaken,
  RegistrationClosed,
  AccountSuspended,
  TwoFactorInvalidCode,
  TwoFactorMaxAttempts,
  TwoFactorAlreadyEnabled,
  TwoFactorNotEnabled,
  TwoFactorSetupExpired,
  TwoFactorRecoveryExhausted,
  WebAuthnNotConfigured,
  WebAuthnInvalid,
  WebAuthnCredentialNotFound,
  Forbidden,
  Banned,
  RoleHierarchy,
  DmPermissionDenied,
  UserBlocked,
  UserNotFound,
  SpaceNotFound,
  MessageNotFound,
  ThreadNotFound,
  RoleNotFound,
  CategoryNotFound,
  SessionNotFound,
  EmojiNotFound,
  StickerNotFound,
  ReportNotFound,
  ReportAlreadyResolved,
  InviteExpired,
  InviteInvalid,
  RateLimited,
  ServerFull,
  LimitReached,
  SpaceTypeMismatch,
  EmptyMessage,
  PinLimitReached,
  FileTooLarge,
  FileNotFound,
  MessageTooLarge,
  EmbedUnavailable,
  ServiceUnavailable,
  UnknownError,
  DeviceNotFound,
  DeviceLimitReached,
  PrekeyExhausted,
  KeyBackupNotFound,
  DevicePairNotFound,
  DevicePairExpired,
  CPaceExpired,
  DevicePairDenied
] as const

export type ProtocolError = InstanceType<(typeof ProtocolErrors)[number]>

/** The error class of each code (codes are prototype getters, so no instance is needed to read them). */
export const errorClassByCode: ReadonlyMap<string, (typeof ProtocolErrors)[number]> = new Map(
  ProtocolErrors.map((cls) => [cls.prototype.code, cls])
)

/** Anything carrying a protocol code: the shape the HTTP edge turns into a response. */
export interface CodedError {
  readonly _tag: string
  readonly code: string
  readonly message: string
}

export const isCodedError = (u: unknown): u is CodedError =>
  typeof u === "object" && u !== null && "_tag" in u && "code" in u && typeof u.code === "string" &&
  "message" in u && typeof u.message === "string"

/** The `{"error": {...}}` body of a coded error: its own fields become the extras. */
export const errorBody = (e: CodedError): { error: Record<string, unknown> } => {
  const extra: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(e)) {
    if (k !== "_tag" && k !== "message" && v !== undefined) extra[k] = v
  }
  return { error: { code: e.code, message: e.message, ...extra } }
}

export const ErrorBody = Schema.Struct({
  error: Schema.Struct({ code: Schema.String, message: Schema.String }, { key: Schema.String, value: Schema.Unknown })
})
