// The audit log (seed 002 §15, reference API.md §6 "Audit Log"): who did what to whom, never message
// content. Event types are `{category}.{action}`; a filter `member.*` matches a whole category.
import { Schema } from "effect"
import { endpoint } from "../endpoint.js"
import { idFromString, UserId } from "../ids.js"
import { Limit } from "../pagination.js"
import { Snowflake } from "../snowflake.js"
import { UnixSeconds, UnsignedFromString } from "./fields.js"

export const AuditEntry = Schema.Struct({
  entry_id: Snowflake,
  event_type: Schema.String,
  /** null: the server's own tools (`vox admin`) */
  actor_id: Schema.NullOr(UserId),
  target_id: Schema.NullOr(Schema.Number),
  metadata: Schema.Record({ key: Schema.String, value: Schema.Unknown }),
  timestamp: UnixSeconds
})
export type AuditEntry = typeof AuditEntry.Type

/** `member.kick`, or `member.*` for every action of a category. */
export const EventTypeFilter = Schema.String.pipe(
  Schema.pattern(/^[a-z0-9_]+(\.([a-z0-9_]+|\*))?$/, {
    message: () => "event_type is `category.action` or `category.*`"
  })
)

const Id = Schema.compose(
  Schema.String.pipe(Schema.pattern(/^[0-9]{1,10}$/, { message: () => "Expected a decimal id" })),
  Schema.NumberFromString
)

export const AuditQuery = Schema.Struct({
  event_type: Schema.optional(EventTypeFilter),
  actor_id: Schema.optional(idFromString(UserId)),
  target_id: Schema.optional(Id),
  /** Unix seconds: entries strictly before / after */
  before: Schema.optional(UnsignedFromString),
  after: Schema.optional(UnsignedFromString),
  limit: Schema.optional(Limit(100)),
  cursor: Schema.optional(Schema.String)
})
export type AuditQuery = typeof AuditQuery.Type

export const AuditPage = Schema.Struct({
  entries: Schema.Array(AuditEntry),
  cursor: Schema.NullOr(Schema.String)
})
export type AuditPage = typeof AuditPage.Type

export const queryAuditLog = endpoint({
  name: "queryAuditLog",
  method: "GET",
  path: "/api/v1/audit-log",
  access: { permission: "VIEW_AUDIT_LOG" },
  query: AuditQuery,
  success: AuditPage
})
