// Error codes keep the statuses of seed 002 §10, error bodies have the protocol shape, and the SDK
// turns a body back into the same typed error.
import { describe, expect, it } from "vitest"
import { decodeErrorBody } from "../../src/client/VoxClient.js"
import { ErrorStatus, errorBody, Forbidden, RateLimited, statusOf } from "../../src/protocol/errors.js"
import { decodeCursor, encodeCursor, PageQuery } from "../../src/protocol/pagination.js"
import { Either, Schema } from "effect"

// seed 002 §10 "HTTP Status Code Mapping", verbatim
const seedTable: Record<number, ReadonlyArray<string>> = {
  400: ["PROTOCOL_VERSION_MISMATCH", "MESSAGE_TOO_LARGE", "SPACE_TYPE_MISMATCH"],
  401: ["AUTH_FAILED", "AUTH_EXPIRED", "2FA_REQUIRED", "2FA_INVALID_CODE", "WEBAUTHN_INVALID"],
  403: ["FORBIDDEN", "BANNED", "ROLE_HIERARCHY", "DM_PERMISSION_DENIED", "USER_BLOCKED", "FEDERATION_DENIED"],
  404: ["USER_NOT_FOUND", "SPACE_NOT_FOUND", "MESSAGE_NOT_FOUND", "REPORT_NOT_FOUND", "CMD_NOT_FOUND", "WEBHOOK_NOT_FOUND", "KEY_BACKUP_NOT_FOUND", "WEBAUTHN_CREDENTIAL_NOT_FOUND"],
  409: ["ALREADY_IN_VOICE", "CMD_ALREADY_REGISTERED", "2FA_ALREADY_ENABLED"],
  410: ["INVITE_EXPIRED", "INTERACTION_EXPIRED", "2FA_SETUP_EXPIRED", "DEVICE_PAIR_EXPIRED", "CPACE_EXPIRED"],
  413: ["FILE_TOO_LARGE"],
  422: ["INVITE_INVALID", "2FA_NOT_ENABLED", "2FA_RECOVERY_EXHAUSTED", "CPACE_FAILED"],
  429: ["RATE_LIMITED"],
  500: ["UNKNOWN_ERROR"],
  502: ["FEDERATION_UNAVAILABLE"],
  503: ["SERVER_FULL", "ROOM_FULL", "PREKEY_EXHAUSTED", "DEVICE_LIMIT_REACHED"]
}

// seed 002 §10 "Error Code Reference": codes without a row in the status table
const seedOtherCodes = ["UNSUPPORTED_CODEC", "E2E_KEY_MISMATCH", "DEVICE_PAIR_DENIED", "WEBHOOK_TOKEN_INVALID", "2FA_MAX_ATTEMPTS", "WEBAUTHN_NOT_CONFIGURED", "PIN_LIMIT_REACHED"]

describe("error codes", () => {
  it("every code of the seed's status table has that status", () => {
    for (const [status, codes] of Object.entries(seedTable)) {
      for (const code of codes) expect([code, statusOf(code)]).toEqual([code, Number(status)])
    }
  })

  it("every other code of the seed and the reference has a status", () => {
    for (const code of seedOtherCodes) expect(code in ErrorStatus).toBe(true)
  })

  it("bodies are {error: {code, message, ...extra}} and decode back into the typed error", () => {
    const forbidden = new Forbidden({ missing_permission: "MANAGE_SERVER" })
    const body = errorBody(forbidden)
    expect(body).toEqual({ error: { code: "FORBIDDEN", message: forbidden.message, missing_permission: "MANAGE_SERVER" } })
    const back = decodeErrorBody(403, body)
    expect(back).toBeInstanceOf(Forbidden)
    expect(back).toMatchObject({ missing_permission: "MANAGE_SERVER" })

    const limited = decodeErrorBody(429, errorBody(new RateLimited({ retry_after_ms: 5000 })))
    expect(limited).toMatchObject({ _tag: "RateLimited", retry_after_ms: 5000, code: "RATE_LIMITED" })

    const future = decodeErrorBody(418, { error: { code: "TEAPOT", message: "short and stout", spout: true } })
    expect(future).toMatchObject({ _tag: "ApiError", code: "TEAPOT", status: 418, extra: { spout: true } })
  })
})

describe("pagination", () => {
  it("cursors round-trip and a forged cursor is refused", () => {
    const Position = Schema.Struct({ id: Schema.Number })
    expect(decodeCursor(Position, encodeCursor({ id: 42 }))).toEqual(Either.right({ id: 42 }))
    expect(Either.isLeft(decodeCursor(Position, "not-a-cursor"))).toBe(true)
  })

  it("limit is a whole number within the endpoint's maximum", () => {
    const decode = Schema.decodeUnknownEither(PageQuery(100))
    expect(decode({ limit: "50", after: "x" })).toEqual(Either.right({ limit: 50, after: "x" }))
    expect(Either.isLeft(decode({ limit: "101" }))).toBe(true)
    expect(Either.isLeft(decode({ limit: "0" }))).toBe(true)
    expect(Either.isLeft(decode({ limit: "1e2" }))).toBe(true)
  })
})
