// Keeps the event log to `events.retention`: sync never answers from further back (it tells the client
// to refetch instead), so older rows are only weight. Runs at start and then hourly, for as long as
// the server's scope lives.
import { SqlClient } from "@effect/sql"
import { Duration, Effect, Layer, Schedule } from "effect"
import { VoxConfig } from "../config/VoxConfig.js"

export const pruneEventLog = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  const config = yield* VoxConfig
  const cutoff = Date.now() - Duration.toMillis(config.events.retention)
  yield* sql`DELETE FROM event_log WHERE created_at < ${cutoff}`
})

export const EventRetentionLive = Layer.scopedDiscard(
  pruneEventLog.pipe(
    Effect.catchAllCause((cause) => Effect.logWarning("Pruning the event log failed", cause)),
    Effect.repeat(Schedule.spaced(Duration.hours(1))),
    Effect.forkScoped
  )
)
