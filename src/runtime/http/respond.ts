// Responses: JSON written losslessly (64-bit ids and permission sets stay exact), and every failure as
// the protocol's `{"error": {...}}` body with the status of its code.
import { HttpServerResponse } from "@effect/platform"
import { Cause, Effect } from "effect"
import { type CodedError, errorBody, isCodedError, ServiceUnavailable, statusOf, UnknownError } from "../../protocol/errors.js"
import { stringifyJson } from "../../protocol/json.js"

/** Headers of every REST response. */
export const baseHeaders = {
  "x-content-type-options": "nosniff",
  "cache-control": "no-store"
}

export const json = (status: number, body: unknown, headers: Record<string, string> = {}) =>
  HttpServerResponse.text(stringifyJson(body), {
    status,
    contentType: "application/json; charset=utf-8",
    headers: { ...baseHeaders, ...headers }
  })

export const noContent = HttpServerResponse.empty({ status: 204, headers: baseHeaders })

export const errorResponse = (error: CodedError, headers: Record<string, string> = {}) =>
  json(statusOf(error.code), errorBody(error), headers)

// The cluster's own failures (an entity's mailbox is full, a shard is moving): retryable, so 503.
const CLUSTER_ERRORS = new Set(["MailboxFull", "AlreadyProcessingMessage", "PersistenceError", "EntityNotAssignedToRunner"])

const tagOf = (u: unknown) => (typeof u === "object" && u !== null && "_tag" in u ? String(u._tag) : undefined)

/**
 * What the client is told of a handler's failure or defect, and what only the log hears: a coded
 * error as it is, the cluster's retryable failures and interruptions as 503, anything else as 500.
 */
export const failureOf = <E>(cause: Cause.Cause<E>): { readonly error: CodedError; readonly log?: "warning" | "error" } => {
  const failure = Cause.failureOption(cause)
  if (failure._tag === "Some") {
    const error: unknown = failure.value
    if (isCodedError(error)) return { error }
    if (CLUSTER_ERRORS.has(tagOf(error) ?? "")) return { error: new ServiceUnavailable(), log: "warning" }
  }
  if (Cause.isInterruptedOnly(cause)) return { error: new ServiceUnavailable() }
  return { error: new UnknownError(), log: "error" }
}

/** The log line of a failure `failureOf` says to log. */
export const logFailure = <E>(level: "warning" | "error", cause: Cause.Cause<E>) =>
  level === "warning" ? Effect.logWarning("cluster unavailable", cause) : Effect.logError("request failed", cause)

/** Any failure or defect of a handler as a response; what the client may not see is only logged. */
export const failureResponse = <E>(cause: Cause.Cause<E>) => {
  const { error, log } = failureOf(cause)
  return Effect.as(log === undefined ? Effect.void : logFailure(log, cause), errorResponse(error))
}
