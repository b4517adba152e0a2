// Reports (seed 002 §12 "Client-Side Reporting", reference API.md "Reports" and detail/api/moderation.md).
// The server cannot read an end-to-end encrypted DM, so a report carries what the reporter's client
// decrypted: the evidence is the reporter's word, bounded in size, tied to messages the server holds.
// Moderators with VIEW_REPORTS list reports and resolve each once, with an action that is carried out
// there and then: dismiss, warn (MODERATION_WARNING to the reported user alone), kick or ban.
import { Schema } from "effect"
import { endpoint } from "../endpoint.js"
import { DmId, FeedId, idFromString, UINT32_MAX, UserId } from "../ids.js"
import { Limit } from "../pagination.js"
import { Snowflake } from "../snowflake.js"
import { Text, Timestamp } from "./fields.js"

export const ReportId = Schema.Number.pipe(Schema.int(), Schema.between(1, UINT32_MAX), Schema.brand("ReportId"))
export type ReportId = typeof ReportId.Type

export const ReportReason = Schema.Literal("harassment", "spam", "illegal_content", "threats", "other")
export type ReportReason = typeof ReportReason.Type

export const ReportStatus = Schema.Literal("open", "resolved")
export type ReportStatus = typeof ReportStatus.Type

export const ReportAction = Schema.Literal("dismiss", "warn", "kick", "ban")
export type ReportAction = typeof ReportAction.Type

/** The most messages one report quotes, and the longest quoted body (characters). */
export const MAX_REPORTED_MESSAGES = 50
export const MAX_EVIDENCE_CHARS = 4_000
export const MAX_REPORT_DESCRIPTION = 2_000

/**
 * One quoted message as the reporter submits it: its id and the body their client shows (decrypted,
 * for a DM). `timestamp` is accepted for compatibility and not trusted: the report keeps the time the
 * server stored the message at.
 */
export const ReportedMessageInput = Schema.Struct({
  msg_id: Snowflake,
  body: Text(MAX_EVIDENCE_CHARS),
  timestamp: Schema.optional(Schema.Union(Schema.Number, Schema.String))
})

/** A quoted message as the report keeps it; `timestamp` (Unix seconds) is when the server stored it. */
export const ReportedMessage = Schema.Struct({
  msg_id: Snowflake,
  body: Schema.String,
  timestamp: Schema.Number
})
export type ReportedMessage = typeof ReportedMessage.Type

/**
 * The reported user, and where the quoted messages are: a DM the reporter is in, or a feed they can
 * read (at most one of the two). Every quoted message must be one the reported user wrote there; a
 * report without a place quotes none (a profile, a name).
 */
export const CreateReport = Schema.Struct({
  reported_user_id: UserId,
  dm_id: Schema.optional(DmId),
  feed_id: Schema.optional(FeedId),
  messages: Schema.optional(
    Schema.Array(ReportedMessageInput).pipe(Schema.maxItems(MAX_REPORTED_MESSAGES, {
      message: () => `A report quotes at most ${MAX_REPORTED_MESSAGES} messages`
    }))
  ),
  reason: ReportReason,
  description: Schema.optional(Text(MAX_REPORT_DESCRIPTION))
})
export type CreateReport = typeof CreateReport.Type

export const Report = Schema.Struct({
  report_id: ReportId,
  reporter_id: UserId,
  reported_user_id: UserId,
  dm_id: Schema.NullOr(DmId),
  feed_id: Schema.NullOr(FeedId),
  reason: ReportReason,
  description: Schema.String,
  messages: Schema.Array(ReportedMessage),
  status: ReportStatus,
  created_at: Timestamp,
  resolved_at: Schema.NullOr(Timestamp),
  resolved_by: Schema.NullOr(UserId),
  resolution_action: Schema.NullOr(ReportAction),
  /** the moderator's note, as given when resolving */
  resolution_reason: Schema.NullOr(Schema.String)
})
export type Report = typeof Report.Type

/** Oldest first (a queue to work through); `cursor` from the previous page. */
export const ReportQuery = Schema.Struct({
  status: Schema.optional(ReportStatus),
  limit: Schema.optional(Limit(100)),
  cursor: Schema.optional(Schema.String)
})
export type ReportQuery = typeof ReportQuery.Type

export const ReportPage = Schema.Struct({
  reports: Schema.Array(Report),
  cursor: Schema.NullOr(Schema.String)
})
export type ReportPage = typeof ReportPage.Type

/**
 * `reason` is the moderator's note (kept on the report, in the audit log and, for a warning, shown to
 * the warned user); `delete_msg_days` goes with `ban` only, as in a ban's own body.
 */
export const ResolveReport = Schema.Struct({
  action: ReportAction,
  reason: Schema.optional(Text(512)),
  delete_msg_days: Schema.optional(Schema.Number.pipe(Schema.int(), Schema.between(0, 14, {
    message: () => "delete_msg_days is between 0 and 14"
  })))
})
export type ResolveReport = typeof ResolveReport.Type

/** What the warned user's sessions receive (gateway event MODERATION_WARNING); who warned them is not said. */
export const ModerationWarning = Schema.Struct({
  reason: ReportReason,
  /** the moderator's note, null when none was given */
  note: Schema.NullOr(Schema.String),
  warned_at: Timestamp
})
export type ModerationWarning = typeof ModerationWarning.Type

/**
 * Any signed-in account may report: a DM participant need not be a member. A feed's messages are
 * reported by someone who can read them (VIEW_SPACE and READ_HISTORY there).
 */
export const createReport = endpoint({
  name: "createReport",
  method: "POST",
  path: "/api/v1/reports",
  access: "account",
  body: CreateReport,
  success: Report,
  status: 201
})

export const listReports = endpoint({
  name: "listReports",
  method: "GET",
  path: "/api/v1/reports",
  access: { permission: "VIEW_REPORTS" },
  query: ReportQuery,
  success: ReportPage
})

/**
 * Carries out the action and closes the report, in one transaction: kick also needs KICK_MEMBERS,
 * ban BAN_MEMBERS, and both the role hierarchy over the reported user; a refused action leaves the
 * report open. A resolved report answers 409 REPORT_ALREADY_RESOLVED.
 */
export const resolveReport = endpoint({
  name: "resolveReport",
  method: "POST",
  path: "/api/v1/reports/:report_id/resolve",
  access: { permission: "VIEW_REPORTS" },
  params: Schema.Struct({ report_id: idFromString(ReportId) }),
  body: ResolveReport,
  success: Report
})
