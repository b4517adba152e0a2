// The gateway's durable state. Every logged event gets `seq`, its position in one total order that is
// the commit order (allocated from `event_sequence` inside the committing transaction), so a gateway
// can deliver and replay the log in exactly the order it was written, across restarts and nodes.
// A gateway session remembers where in that order it began, which makes RESUME work after a crash.
import { SqlClient } from "@effect/sql"
import { Effect } from "effect"

export default Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient

  yield* sql`ALTER TABLE event_log ADD COLUMN seq BIGINT`
  // Events logged before this migration take their place in id order.
  yield* sql`UPDATE event_log SET seq = ordered.n
    FROM (SELECT id, ROW_NUMBER() OVER (ORDER BY id) AS n FROM event_log) AS ordered
    WHERE ordered.id = event_log.id`
  yield* sql`CREATE UNIQUE INDEX event_log_seq ON event_log (seq)`

  // One row: the last allocated position. Its row lock orders committing transactions on PostgreSQL.
  yield* sql`CREATE TABLE event_sequence (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    last_seq BIGINT NOT NULL
  )`
  yield* sql`INSERT INTO event_sequence (id, last_seq) SELECT 1, COALESCE(MAX(seq), 0) FROM event_log`

  yield* sql`CREATE TABLE gateway_sessions (
    id TEXT PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    base_seq BIGINT NOT NULL,
    preamble INTEGER NOT NULL,
    created_at BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL
  )`
  yield* sql`CREATE INDEX gateway_sessions_user ON gateway_sessions (user_id)`
  yield* sql`CREATE INDEX gateway_sessions_seen ON gateway_sessions (last_seen_at)`

  // What a user set with op 7; whether they are online is known from their live connections.
  yield* sql`CREATE TABLE presence (
    user_id BIGINT PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    status TEXT NOT NULL,
    custom_status TEXT,
    activity TEXT,
    online INTEGER NOT NULL DEFAULT 0,
    updated_at BIGINT NOT NULL
  )`
})
