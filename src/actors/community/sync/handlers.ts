// Sync answers from the event log: the events of the asked categories after a moment, oldest first,
// each only if the caller is in its audience now. When the log cannot answer (the moment is older
// than retention, or more changed than a client should replay) it says so and the client refetches.
import type { Entity } from "@effect/cluster"
import { Rpc } from "@effect/rpc"
import { SqlClient } from "@effect/sql"
import { Duration, Effect, Option, Schema } from "effect"
import { dottedEventType, SYNC_MAX_EVENTS, SyncCategories, type SyncEvent } from "../../../protocol/api/sync.js"
import { Audience } from "../../../protocol/events.js"
import { parseJson } from "../../../protocol/json.js"
import { has } from "../../../protocol/permissions.js"
import { SnowflakeFromString } from "../../../protocol/snowflake.js"
import { VoxConfig } from "../../../runtime/config/VoxConfig.js"
import { decodeRows, IntColumn } from "../../../runtime/db/columns.js"
import { dieOnStorageError } from "../../../runtime/db/storageErrors.js"
import type { AccessView } from "../access/AccessCache.js"
import type { Membership } from "../access/Membership.js"
import type { CommunityContext } from "../CommunityTx.js"
import type { SyncRpcs } from "./rpcs.js"

const LogRow = Schema.Struct({
  id: SnowflakeFromString,
  type: Schema.String,
  audience: Schema.String,
  payload: Schema.String,
  created_at: IntColumn
})

const decodeAudience = Schema.decodeUnknownOption(Audience)

const isCategory = (name: string): name is keyof typeof SyncCategories => Object.hasOwn(SyncCategories, name)

/** Whether `member` would receive an event sent to `audience` today. */
const reaches = (view: AccessView, member: Membership, audience: Audience): boolean => {
  switch (audience._tag) {
    case "server":
      return !(audience.except?.includes(member.user_id) ?? false)
    case "users":
      return audience.user_ids.includes(member.user_id)
    case "permission":
      return has(member.permissions, audience.permission)
    case "space":
      if (audience.except?.includes(member.user_id)) return false
      return Option.match(view.permissionsIn(member, { type: audience.space_type, id: audience.space_id }), {
        onNone: () => false,
        onSome: (set) => has(set, audience.permission)
      })
  }
}

export const syncHandlers = (ctx: CommunityContext) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const config = yield* VoxConfig
    const retentionMs = Duration.toMillis(config.events.retention)

    return {
      Sync: ({ payload }) =>
        Rpc.fork(Effect.gen(function* () {
          const now = Date.now()
          const answer = (events: ReadonlyArray<SyncEvent>, full: boolean) => ({
            events,
            server_timestamp: now / 1000,
            full_refetch: full
          })
          if (payload.since_ms < now - retentionMs) return answer([], true)
          const types = [...new Set(payload.categories.filter(isCategory).flatMap((c) => SyncCategories[c]))]
          if (types.length === 0) return answer([], false)
          const rows = yield* sql`SELECT CAST(id AS TEXT) AS id, type, audience, payload, created_at FROM event_log
            WHERE created_at > ${Math.floor(payload.since_ms)} AND ${sql.in("type", types)}
            ORDER BY id LIMIT ${SYNC_MAX_EVENTS + 1}`.pipe(Effect.flatMap(decodeRows(LogRow)))
          if (rows.length > SYNC_MAX_EVENTS) return answer([], true)
          const view = yield* ctx.access.view
          const member = Option.getOrUndefined(yield* view.standing(payload.user_id))
          if (member === undefined || !member.member) return answer([], false)
          const events = rows.flatMap((row) => {
            const audience = parseJson(row.audience)
            const payloadJson = parseJson(row.payload)
            if (!audience.ok || !payloadJson.ok) return []
            const decoded = decodeAudience(audience.value)
            if (Option.isNone(decoded) || !reaches(view, member, decoded.value)) return []
            return [{
              event_id: row.id,
              type: dottedEventType(row.type),
              payload: payloadJson.value,
              timestamp: row.created_at / 1000
            }]
          })
          return answer(events, false)
        }).pipe(dieOnStorageError))
    } satisfies Entity.HandlersFrom<(typeof SyncRpcs)[number]>
  })
