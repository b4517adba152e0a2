// Sessions: opaque `vox_sess_...` tokens with an expiry. Only the SHA-256 of a token is stored, and
// lookups go by that hash, so neither a leaked table nor response timing yields a usable token.
import { SqlClient } from "@effect/sql"
import { Duration, Effect, Schema } from "effect"
import { createHash, randomBytes, timingSafeEqual } from "node:crypto"
import { SESSION_TOKEN_PREFIX } from "../../protocol/api/auth.js"
import { AuthExpired, AuthFailed } from "../../protocol/errors.js"
import { UserId } from "../../protocol/ids.js"
import { SnowflakeFromString } from "../../protocol/snowflake.js"
import { VoxConfig } from "../config/VoxConfig.js"
import { decodeRows, IntColumn } from "../db/columns.js"
import { dieOnStorageError } from "../db/storageErrors.js"
import { Snowflakes } from "../ids/Snowflakes.js"

export type SessionKind = "user" | "bot"

/** Who is calling: what authentication hands to every handler. */
export interface Caller {
  readonly userId: UserId
  readonly sessionId: bigint
  readonly kind: SessionKind
  readonly tokenHash: string
}

const SessionRow = Schema.Struct({
  token_hash: Schema.String,
  id: SnowflakeFromString,
  user_id: Schema.compose(IntColumn, UserId),
  kind: Schema.Literal("user", "bot"),
  expires_at: IntColumn,
  last_used_at: IntColumn,
  suspended: IntColumn
})

const hashToken = (token: string) => createHash("sha256").update(token, "utf8").digest("hex")

// last_used_at is for the session list; writing it on every request would turn reads into writes.
const TOUCH_EVERY_MS = 60_000

export class Sessions extends Effect.Service<Sessions>()("vox/Sessions", {
  effect: Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const config = yield* VoxConfig
    const snowflakes = yield* Snowflakes
    const ttlMs = Duration.toMillis(config.auth.sessionTtl)

    const create = (userId: number, kind: SessionKind, meta: { ip: string | null; userAgent: string | null }) =>
      Effect.gen(function* () {
        const token = SESSION_TOKEN_PREFIX + randomBytes(32).toString("base64url")
        const id = yield* snowflakes.next
        const now = Date.now()
        yield* sql`INSERT INTO sessions ${sql.insert({
          token_hash: hashToken(token),
          id: id.toString(),
          user_id: userId,
          kind,
          created_at: now,
          expires_at: now + ttlMs,
          last_used_at: now,
          ip: meta.ip,
          user_agent: meta.userAgent === null ? null : meta.userAgent.slice(0, 512)
        })}`
        return { token, id }
      }).pipe(dieOnStorageError, Effect.withSpan("Sessions.create"))

    /** The caller behind a token, if the token is a live session of `kind` and its user is not suspended. */
    const authenticate = (token: string, kind: SessionKind) =>
      Effect.gen(function* () {
        if (!token.startsWith(SESSION_TOKEN_PREFIX) || token.length > 128) return yield* new AuthFailed()
        const presented = hashToken(token)
        const rows = yield* sql`SELECT s.token_hash, CAST(s.id AS TEXT) AS id, s.user_id, s.kind, s.expires_at,
            s.last_used_at, u.suspended
          FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.token_hash = ${presented}`.pipe(
          Effect.flatMap(decodeRows(SessionRow))
        )
        const row = rows[0]
        if (row === undefined) return yield* new AuthFailed()
        if (!timingSafeEqual(Buffer.from(row.token_hash, "hex"), Buffer.from(presented, "hex"))) {
          return yield* new AuthFailed()
        }
        if (row.kind !== kind) return yield* new AuthFailed()
        const now = Date.now()
        if (row.expires_at <= now) {
          yield* sql`DELETE FROM sessions WHERE token_hash = ${presented}`
          return yield* new AuthExpired()
        }
        if (row.suspended !== 0) return yield* new AuthFailed({ message: "This account is suspended." })
        if (now - row.last_used_at > TOUCH_EVERY_MS) {
          yield* sql`UPDATE sessions SET last_used_at = ${now} WHERE token_hash = ${presented}`
        }
        const caller: Caller = { userId: row.user_id, sessionId: row.id, kind: row.kind, tokenHash: presented }
        return caller
      }).pipe(dieOnStorageError, Effect.withSpan("Sessions.authenticate"))

    const revoke = (caller: Caller) =>
      sql`DELETE FROM sessions WHERE token_hash = ${caller.tokenHash}`.pipe(Effect.asVoid, dieOnStorageError)

    /** Ends every session of a user (suspension, password change); returns how many ended. */
    const revokeAll = (userId: number) =>
      sql`DELETE FROM sessions WHERE user_id = ${userId} RETURNING token_hash`.pipe(
        Effect.map((rows) => rows.length),
        dieOnStorageError
      )

    return { create, authenticate, revoke, revokeAll } as const
  })
}) {}
