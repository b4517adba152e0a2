// How the Community entity changes state: one transaction that also appends the gateway events it
// emits, the audit entries it writes, and bumps the access epoch, so permission caches everywhere see
// the change on their next check. Nothing is published or cached before the commit.
import { SqlClient, type SqlError } from "@effect/sql"
import { Effect } from "effect"
import type { UserId } from "../../protocol/ids.js"
import { stringifyJson } from "../../protocol/json.js"
import { type Emit, Events } from "../../runtime/events/Events.js"
import { Snowflakes } from "../../runtime/ids/Snowflakes.js"
import type { AccessCache } from "./access/AccessCache.js"

/** One audit log entry (seed 002 §15): ids, names and changes only, never message content. */
export interface AuditInput {
  /** `{category}.{action}`: `member.kick`, `role.assign`, `feed.delete`, ... */
  readonly event_type: string
  /** null for the server's own tools (`vox admin`) */
  readonly actor_id: UserId | null
  readonly target_id?: number | null | undefined
  readonly metadata?: Record<string, unknown> | undefined
}

export interface Tx {
  readonly emit: Emit
  readonly audit: (entry: AuditInput) => Effect.Effect<void, SqlError.SqlError>
}

export type Write = <A, E, R>(body: (tx: Tx) => Effect.Effect<A, E, R>) => Effect.Effect<A, E | SqlError.SqlError, R>

export const makeWrite = (access: AccessCache) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const events = yield* Events
    const snowflakes = yield* Snowflakes

    const audit = (entry: AuditInput) =>
      Effect.gen(function* () {
        const id = yield* snowflakes.next
        const metadata: Record<string, unknown> = {}
        for (const [k, v] of Object.entries(entry.metadata ?? {})) if (v !== undefined) metadata[k] = v
        yield* sql`INSERT INTO audit_log ${sql.insert({
          id: id.toString(),
          event_type: entry.event_type,
          actor_id: entry.actor_id,
          target_id: entry.target_id ?? null,
          metadata: stringifyJson(metadata),
          created_at: Date.now()
        })}`
      })

    const write: Write = (body) =>
      events.transact((emit) =>
        Effect.gen(function* () {
          const result = yield* body({ emit, audit })
          yield* sql`UPDATE server SET access_epoch = access_epoch + 1 WHERE id = 1`
          return result
        })
      ).pipe(Effect.ensuring(access.invalidate))

    return write
  })

/** What every group of the Community entity's handlers is built with. */
export interface CommunityContext {
  readonly access: AccessCache
  readonly write: Write
}
