// The sessions the gateway's connections stand on, checked against the database once every heartbeat
// interval. A session this process ends is announced on Revocations at once; one ended from outside
// (`vox admin suspend` beside the server, a row deleted by hand) is not. The check finds those, and
// anything whose user was suspended, and announces them the same way, so their connections close
// within an interval. One query per interval, for every connection together.
import { SqlClient } from "@effect/sql"
import { Array as Arr, Effect, Schedule, Schema, type Scope } from "effect"
import type { UserId } from "../../protocol/ids.js"
import { Revocations } from "../auth/Revocations.js"
import { VoxConfig } from "../config/VoxConfig.js"
import { decodeRows } from "../db/columns.js"

const LiveRow = Schema.Struct({ id: Schema.String })

/** Ids per query: well under both databases' limits on bound parameters. */
const CHUNK = 500

export class LiveSessions extends Effect.Service<LiveSessions>()("vox/gateway/LiveSessions", {
  scoped: Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const revocations = yield* Revocations
    const config = yield* VoxConfig
    // one entry per connection: a token may be open on several at once
    const open = new Map<object, { readonly userId: UserId; readonly sessionId: bigint }>()

    const stillLive = (ids: ReadonlyArray<string>) =>
      Effect.forEach(
        Arr.chunksOf(ids, CHUNK),
        (chunk) =>
          sql`SELECT CAST(s.id AS TEXT) AS id FROM sessions s JOIN users u ON u.id = s.user_id
            WHERE u.suspended = 0 AND ${sql.in("s.id", chunk)}`.pipe(Effect.flatMap(decodeRows(LiveRow))),
        { concurrency: 1 }
      ).pipe(Effect.map((chunks) => new Set(chunks.flat().map((r) => r.id))))

    const check = Effect.gen(function* () {
      if (open.size === 0) return
      const ids = [...new Set([...open.values()].map((s) => s.sessionId.toString()))]
      const live = yield* stillLive(ids)
      const ended = new Map<UserId, Set<bigint>>()
      for (const { userId, sessionId } of open.values()) {
        if (!live.has(sessionId.toString())) ended.set(userId, (ended.get(userId) ?? new Set()).add(sessionId))
      }
      for (const [user_id, session_ids] of ended) yield* revocations.publish({ user_id, session_ids: [...session_ids] })
    })

    yield* check.pipe(
      Effect.catchAllCause((cause) => Effect.logWarning("Checking the gateway's sessions failed", cause)),
      Effect.repeat(Schedule.spaced(config.gateway.heartbeatInterval)),
      Effect.forkScoped
    )

    return {
      /** Watches a connection's session for as long as the scope lives. */
      watch: (userId: UserId, sessionId: bigint): Effect.Effect<void, never, Scope.Scope> => {
        const key = {}
        return Effect.acquireRelease(
          Effect.sync(() => void open.set(key, { userId, sessionId })),
          () => Effect.sync(() => void open.delete(key))
        )
      }
    } as const
  })
}) {}
