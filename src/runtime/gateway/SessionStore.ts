// Gateway sessions, kept in the database so that RESUME works after the server restarts, graceful or
// not. A session is one row written at IDENTIFY: whose it is and where in the event log it began. The
// sequence numbers it was sent follow from that alone (see `Sequencing`), so nothing is written per
// event and nothing is lost when the process dies.
import { SqlClient } from "@effect/sql"
import { Duration, Effect, Option, Schema } from "effect"
import { randomBytes } from "node:crypto"
import type { SessionId } from "../../protocol/gateway.js"
import { UserId } from "../../protocol/ids.js"
import { VoxConfig } from "../config/VoxConfig.js"
import { BoolColumn, decodeRows, IntColumn } from "../db/columns.js"
import { dieOnStorageError } from "../db/storageErrors.js"

export interface StoredSession {
  readonly id: SessionId
  readonly userId: UserId
  /** The log position READY stood for. */
  readonly base: number
  /** How many dispatches (READY included) the session was sent before its first logged event. */
  readonly preamble: number
}

const SessionRow = Schema.Struct({
  user_id: Schema.compose(IntColumn, UserId),
  base_seq: IntColumn,
  preamble: IntColumn,
  last_seen_at: IntColumn
})
const Profile = Schema.Struct({ display_name: Schema.String, is_bot: BoolColumn })
const ServerRow = Schema.Struct({ name: Schema.NullOr(Schema.String), icon: Schema.NullOr(Schema.String) })
const OldestRow = Schema.Struct({ oldest: Schema.NullOr(IntColumn) })

export const newSessionId = () => `gw_${randomBytes(18).toString("base64url")}` as SessionId

export class SessionStore extends Effect.Service<SessionStore>()("vox/gateway/SessionStore", {
  effect: Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const config = yield* VoxConfig
    const retentionMs = Duration.toMillis(config.events.retention)

    const save = (session: StoredSession) =>
      Effect.gen(function* () {
        const now = Date.now()
        yield* sql`INSERT INTO gateway_sessions ${sql.insert({
          id: session.id,
          user_id: session.userId,
          base_seq: session.base,
          preamble: session.preamble,
          created_at: now,
          last_seen_at: now
        })}`
      }).pipe(dieOnStorageError)

    /**
     * The session, if it can still be resumed: it exists, was seen within the event retention, and
     * the log still holds every event after `from` (none was pruned).
     */
    const resumable = (id: string, from: (session: StoredSession) => number) =>
      Effect.gen(function* () {
        const rows = yield* sql`SELECT user_id, base_seq, preamble, last_seen_at FROM gateway_sessions WHERE id = ${id}`.pipe(
          Effect.flatMap(decodeRows(SessionRow))
        )
        const row = rows[0]
        if (row === undefined || Date.now() - row.last_seen_at > retentionMs) return Option.none<StoredSession>()
        const session: StoredSession = { id: id as SessionId, userId: row.user_id, base: row.base_seq, preamble: row.preamble }
        const oldest = yield* sql`SELECT MIN(seq) AS oldest FROM event_log`.pipe(Effect.flatMap(decodeRows(OldestRow)))
        const head = yield* sql`SELECT last_seq AS oldest FROM event_sequence WHERE id = 1`.pipe(
          Effect.flatMap(decodeRows(OldestRow))
        )
        const after = from(session)
        const first = oldest[0]?.oldest ?? (head[0]?.oldest ?? 0) + 1
        // Events after `after` were pruned when the oldest one left is further on than the next one needed.
        return first > after + 1 ? Option.none<StoredSession>() : Option.some(session)
      }).pipe(dieOnStorageError)

    const touch = (id: SessionId) =>
      sql`UPDATE gateway_sessions SET last_seen_at = ${Date.now()} WHERE id = ${id}`.pipe(Effect.asVoid, dieOnStorageError)

    /** What READY tells a user about themselves and the server. */
    const readyInfo = (userId: UserId) =>
      Effect.gen(function* () {
        const [profile, server] = yield* Effect.all([
          sql`SELECT display_name, is_bot FROM users WHERE id = ${userId}`.pipe(Effect.flatMap(decodeRows(Profile))),
          sql`SELECT name, icon FROM server WHERE id = 1`.pipe(Effect.flatMap(decodeRows(ServerRow)))
        ])
        return {
          display_name: profile[0]?.display_name ?? "",
          is_bot: profile[0]?.is_bot ?? false,
          server_name: server[0]?.name ?? config.server.name,
          server_icon: server[0]?.icon ?? null
        }
      }).pipe(dieOnStorageError)

    return { save, resumable, touch, readyInfo } as const
  })
}) {}
