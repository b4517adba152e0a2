// SQL of the audit log: written by CommunityTx inside each administrative write, read here.
import { SqlClient } from "@effect/sql"
import { Effect, Schema } from "effect"
import type { AuditEntry } from "../../../protocol/api/audit.js"
import { UserId } from "../../../protocol/ids.js"
import { parseJson } from "../../../protocol/json.js"
import { type Snowflake, SnowflakeFromString } from "../../../protocol/snowflake.js"
import { decodeRows, IntColumn } from "../../../runtime/db/columns.js"

const EntryRow = Schema.Struct({
  id: SnowflakeFromString,
  event_type: Schema.String,
  actor_id: Schema.NullOr(Schema.compose(IntColumn, UserId)),
  target_id: Schema.NullOr(IntColumn),
  metadata: Schema.String,
  created_at: IntColumn
})

export interface AuditFilter {
  /** exact type, or a category when `prefix` */
  readonly eventType?: { readonly value: string; readonly prefix: boolean } | undefined
  readonly actorId?: number | undefined
  readonly targetId?: number | undefined
  /** milliseconds, exclusive bounds */
  readonly beforeMs?: number | undefined
  readonly afterMs?: number | undefined
  /** entries older than this id (the cursor) */
  readonly beforeId?: Snowflake | undefined
  readonly limit: number
}

const metadataOf = (text: string): Record<string, unknown> => {
  const parsed = parseJson(text)
  return parsed.ok && typeof parsed.value === "object" && parsed.value !== null && !Array.isArray(parsed.value)
    ? parsed.value as Record<string, unknown>
    : {}
}

export const makeAuditRepo = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient

  /** Newest first. */
  const query = (filter: AuditFilter) => {
    const clauses = []
    if (filter.eventType !== undefined) {
      // A category is the range [`member.`, `member/`): '/' sorts right after '.', and unlike LIKE
      // no character of the filter acts as a wildcard.
      clauses.push(filter.eventType.prefix
        ? sql`(event_type >= ${filter.eventType.value + "."} AND event_type < ${filter.eventType.value + "/"})`
        : sql`event_type = ${filter.eventType.value}`)
    }
    if (filter.actorId !== undefined) clauses.push(sql`actor_id = ${filter.actorId}`)
    if (filter.targetId !== undefined) clauses.push(sql`target_id = ${filter.targetId}`)
    if (filter.beforeMs !== undefined) clauses.push(sql`created_at < ${filter.beforeMs}`)
    if (filter.afterMs !== undefined) clauses.push(sql`created_at > ${filter.afterMs}`)
    if (filter.beforeId !== undefined) clauses.push(sql`id < ${filter.beforeId.toString()}`)
    return sql`SELECT CAST(id AS TEXT) AS id, event_type, actor_id, target_id, metadata, created_at FROM audit_log
      WHERE ${sql.and(clauses)} ORDER BY id DESC LIMIT ${filter.limit}`.pipe(
      Effect.flatMap(decodeRows(EntryRow)),
      Effect.map((rows) =>
        rows.map((row): AuditEntry => ({
          entry_id: row.id,
          event_type: row.event_type,
          actor_id: row.actor_id,
          target_id: row.target_id,
          metadata: metadataOf(row.metadata),
          timestamp: Math.floor(row.created_at / 1000)
        }))
      )
    )
  }

  return { query } as const
})
