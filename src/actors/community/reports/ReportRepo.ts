// SQL of reports (migration 0015): written by the Community entity only. Times are milliseconds; the
// quoted messages are a JSON column whose message ids are exact JSON numbers.
import { SqlClient } from "@effect/sql"
import { Effect, Option, Schema } from "effect"
import {
  type Report,
  ReportAction,
  ReportedMessage,
  ReportId,
  ReportReason,
  ReportStatus
} from "../../../protocol/api/reports.js"
import { DmId, FeedId, UserId } from "../../../protocol/ids.js"
import { stringifyJson } from "../../../protocol/json.js"
import { decodeRows, IntColumn, JsonColumn } from "../../../runtime/db/columns.js"

const Messages = Schema.Array(ReportedMessage)

const ReportRow = Schema.Struct({
  id: Schema.compose(IntColumn, ReportId),
  reporter_id: Schema.compose(IntColumn, UserId),
  reported_user_id: Schema.compose(IntColumn, UserId),
  dm_id: Schema.NullOr(Schema.compose(IntColumn, DmId)),
  feed_id: Schema.NullOr(Schema.compose(IntColumn, FeedId)),
  reason: ReportReason,
  description: Schema.String,
  messages: JsonColumn(Messages),
  status: ReportStatus,
  created_at: IntColumn,
  resolved_at: Schema.NullOr(IntColumn),
  resolved_by: Schema.NullOr(Schema.compose(IntColumn, UserId)),
  resolution_action: Schema.NullOr(ReportAction),
  resolution_reason: Schema.NullOr(Schema.String)
})
type ReportRow = typeof ReportRow.Type

const COLUMNS = `id, reporter_id, reported_user_id, dm_id, feed_id, reason, description, messages, status, created_at,
  resolved_at, resolved_by, resolution_action, resolution_reason`

const decodeReports = decodeRows(ReportRow)
const decodeIds = decodeRows(Schema.Struct({ id: Schema.compose(IntColumn, ReportId) }))
const encodeMessages = Schema.encodeSync(Messages)

const iso = (ms: number) => new Date(ms).toISOString()

const toReport = (row: ReportRow): Report => ({
  report_id: row.id,
  reporter_id: row.reporter_id,
  reported_user_id: row.reported_user_id,
  dm_id: row.dm_id,
  feed_id: row.feed_id,
  reason: row.reason,
  description: row.description,
  messages: row.messages,
  status: row.status,
  created_at: iso(row.created_at),
  resolved_at: row.resolved_at === null ? null : iso(row.resolved_at),
  resolved_by: row.resolved_by,
  resolution_action: row.resolution_action,
  resolution_reason: row.resolution_reason
})

export interface NewReport {
  readonly reporter_id: UserId
  readonly reported_user_id: UserId
  readonly dm_id: DmId | null
  readonly feed_id: FeedId | null
  readonly reason: ReportReason
  readonly description: string
  readonly messages: ReadonlyArray<ReportedMessage>
  readonly created_at: number
}

export interface Resolution {
  readonly resolved_by: UserId
  readonly action: ReportAction
  readonly reason: string | null
  readonly at: number
}

export const makeReportRepo = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient

  const find = (id: ReportId) =>
    sql`SELECT ${sql.literal(COLUMNS)} FROM reports WHERE id = ${id}`.pipe(
      Effect.flatMap(decodeReports),
      Effect.map((rows) => Option.map(Option.fromNullable(rows[0]), toReport))
    )

  const insert = (report: NewReport) =>
    sql`INSERT INTO reports ${sql.insert({
      reporter_id: report.reporter_id,
      reported_user_id: report.reported_user_id,
      dm_id: report.dm_id,
      feed_id: report.feed_id,
      reason: report.reason,
      description: report.description,
      messages: stringifyJson(encodeMessages(report.messages)),
      status: "open",
      created_at: report.created_at
    })} RETURNING id`.pipe(Effect.flatMap(decodeIds), Effect.map((rows) => rows[0]!.id))

  /** Reports after `after` in id order (oldest first), of one status or all. */
  const page = (filter: { readonly status?: ReportStatus | undefined; readonly after: number; readonly limit: number }) =>
    sql`SELECT ${sql.literal(COLUMNS)} FROM reports
      WHERE id > ${filter.after} ${filter.status === undefined ? sql`` : sql`AND status = ${filter.status}`}
      ORDER BY id LIMIT ${filter.limit}`.pipe(
      Effect.flatMap(decodeReports),
      Effect.map((rows) => rows.map(toReport))
    )

  /** Closes an open report; false when it was not open any more. */
  const resolve = (id: ReportId, resolution: Resolution) =>
    sql`UPDATE reports SET status = 'resolved', resolved_at = ${resolution.at}, resolved_by = ${resolution.resolved_by},
      resolution_action = ${resolution.action}, resolution_reason = ${resolution.reason}
      WHERE id = ${id} AND status = 'open' RETURNING id`.pipe(Effect.map((rows) => rows.length > 0))

  return { find, insert, page, resolve } as const
})
