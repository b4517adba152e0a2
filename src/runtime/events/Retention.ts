// Keeps the event log to `events.retention`: sync never answers from further back (it tells the client
// to refetch instead), and a gateway session that old cannot be resumed, so older rows are only weight.
// Typing indicators expire for their receivers within seconds; they are kept only long enough for a
// client that resumes right away. Runs at start and then hourly, for as long as the server's scope lives.
import { SqlClient } from "@effect/sql"
import { Duration, Effect, Layer, Schedule } from "effect"
import { VoxConfig } from "../config/VoxConfig.js"

/** How long a TYPING_START stays in the log: far past the ~10 s a receiver shows it. */
const TYPING_KEPT = Duration.minutes(1)

export const pruneEventLog = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  const config = yield* VoxConfig
  const now = Date.now()
  const cutoff = now - Duration.toMillis(config.events.retention)
  yield* sql`DELETE FROM event_log WHERE created_at < ${cutoff}`
  yield* sql`DELETE FROM event_log WHERE type = 'TYPING_START' AND created_at < ${now - Duration.toMillis(TYPING_KEPT)}`
  yield* sql`DELETE FROM gateway_sessions WHERE last_seen_at < ${cutoff}`
})

export const EventRetentionLive = Layer.scopedDiscard(
  pruneEventLog.pipe(
    Effect.catchAllCause((cause) => Effect.logWarning("Pruning the event log failed", cause)),
    Effect.repeat(Schedule.spaced(Duration.hours(1))),
    Effect.forkScoped
  )
)
