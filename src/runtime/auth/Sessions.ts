// Sessions: opaque `vox_sess_...` tokens with an expiry. Only the SHA-256 of a token is stored, and
// lookups go by that hash, so neither a leaked table nor response timing yields a usable token.
// A session ends by deleting its row: the very next request with its token is refused. Every ending
// is announced on Revocations once committed, for the gateway's connections.
import { SqlClient } from "@effect/sql"
import { Duration, Effect, Either, Option, Schema } from "effect"
import { createHash, randomBytes, timingSafeEqual } from "node:crypto"
import { SESSION_TOKEN_PREFIX } from "../../protocol/api/auth.js"
import { AuthExpired, AuthFailed, SessionNotFound } from "../../protocol/errors.js"
import { UserId } from "../../protocol/ids.js"
import { SnowflakeFromString } from "../../protocol/snowflake.js"
import { VoxConfig } from "../config/VoxConfig.js"
import { decodeRows, IntColumn } from "../db/columns.js"
import { dieOnStorageError } from "../db/storageErrors.js"
import { SyncReads } from "../db/SyncReads.js"
import { Snowflakes } from "../ids/Snowflakes.js"
import { type Revocation, Revocations } from "./Revocations.js"

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

const ListedRow = Schema.Struct({
  id: SnowflakeFromString,
  created_at: IntColumn,
  last_used_at: IntColumn,
  expires_at: IntColumn,
  ip: Schema.NullOr(Schema.String),
  user_agent: Schema.NullOr(Schema.String)
})

const EndedRow = Schema.Struct({ id: SnowflakeFromString })

/** Which of a user's sessions end. */
export type Ending = { readonly all: true } | { readonly only: bigint } | { readonly allBut: bigint }

// last_used_at is for the session list; writing it on every request would turn reads into writes.
const TOUCH_EVERY_MS = 60_000

const hashToken = (token: string) => createHash("sha256").update(token, "utf8").digest("hex")

/** The hash a presented token is looked up by; undefined for what cannot be a session token. */
const presentedHash = (token: string) =>
  token.startsWith(SESSION_TOKEN_PREFIX) && token.length <= 128 ? hashToken(token) : undefined

/** A session and its user's suspension, by token hash: `WHERE s.token_hash = <hash>` follows. */
const SESSION_SELECT = `SELECT s.token_hash, CAST(s.id AS TEXT) AS id, s.user_id, s.kind, s.expires_at, s.last_used_at,
    u.suspended
  FROM sessions s JOIN users u ON u.id = s.user_id`

const decodeSessionRow = Schema.decodeUnknownEither(Schema.UndefinedOr(SessionRow))

type Verdict =
  | { readonly _tag: "refused"; readonly error: AuthFailed }
  | { readonly _tag: "expired"; readonly caller: Caller }
  /** `touch`: last_used_at is old enough to be written again (at `now`). */
  | { readonly _tag: "live"; readonly caller: Caller; readonly touch: boolean; readonly now: number }

/** What a stored session (or none) says about a presented token. */
const judge = (row: typeof SessionRow.Type | undefined, presented: string, kind: SessionKind, now: number): Verdict => {
  if (row === undefined) return { _tag: "refused", error: new AuthFailed() }
  if (!timingSafeEqual(Buffer.from(row.token_hash, "hex"), Buffer.from(presented, "hex"))) {
    return { _tag: "refused", error: new AuthFailed() }
  }
  if (row.kind !== kind) return { _tag: "refused", error: new AuthFailed() }
  const caller: Caller = { userId: row.user_id, sessionId: row.id, kind: row.kind, tokenHash: presented }
  if (row.expires_at <= now) return { _tag: "expired", caller }
  if (row.suspended !== 0) return { _tag: "refused", error: new AuthFailed({ message: "This account is suspended." }) }
  return { _tag: "live", caller, touch: now - row.last_used_at > TOUCH_EVERY_MS, now }
}


export class Sessions extends Effect.Service<Sessions>()("vox/Sessions", {
  effect: Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const config = yield* VoxConfig
    const snowflakes = yield* Snowflakes
    const revocations = yield* Revocations
    const reads = yield* SyncReads
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
        const presented = presentedHash(token)
        if (presented === undefined) return yield* new AuthFailed()
        const rows = yield* sql`${sql.literal(SESSION_SELECT)} WHERE s.token_hash = ${presented}`.pipe(Effect.flatMap(decodeRows(SessionRow)))
        const verdict = judge(rows[0], presented, kind, Date.now())
        switch (verdict._tag) {
          case "refused":
            return yield* verdict.error
          case "expired":
            yield* sql`DELETE FROM sessions WHERE token_hash = ${presented}`
            yield* revocations.publish({ user_id: verdict.caller.userId, session_ids: [verdict.caller.sessionId] })
            return yield* new AuthExpired()
          case "live":
            if (verdict.touch) yield* sql`UPDATE sessions SET last_used_at = ${verdict.now} WHERE token_hash = ${presented}`
            return verdict.caller
        }
      }).pipe(dieOnStorageError)

    /**
     * `authenticate` answered at once from the embedded database, for a hot path: the caller when
     * the session is live and has nothing to write (no expiry to delete, no use to record); else
     * undefined, and the request goes the usual way, which does it all.
     */
    const authenticateNow = Option.match(reads, {
      onNone: () => undefined,
      onSome: (reader) => (token: string, kind: SessionKind): Caller | undefined => {
        const presented = presentedHash(token)
        if (presented === undefined) return undefined
        const row = decodeSessionRow(reader.all(`${SESSION_SELECT} WHERE s.token_hash = ?`, [presented])[0])
        if (Either.isLeft(row)) return undefined
        const verdict = judge(row.right, presented, kind, Date.now())
        return verdict._tag === "live" && !verdict.touch ? verdict.caller : undefined
      }
    })

    /** The user's live sessions, most recently used first. */
    const list = (userId: number) =>
      sql`SELECT CAST(id AS TEXT) AS id, created_at, last_used_at, expires_at, ip, user_agent FROM sessions
        WHERE user_id = ${userId} AND expires_at > ${Date.now()} ORDER BY last_used_at DESC, id DESC`.pipe(
        Effect.flatMap(decodeRows(ListedRow)),
        dieOnStorageError
      )

    /**
     * Deletes sessions of a user and says what to announce. Inside a larger transaction (a ban, a
     * password change) the caller announces once it has committed: a gateway told earlier could
     * let the client reconnect with a token that is about to die.
     */
    const end = (userId: UserId, which: Ending) =>
      Effect.gen(function* () {
        const rows = yield* ("all" in which
          ? sql`DELETE FROM sessions WHERE user_id = ${userId} RETURNING CAST(id AS TEXT) AS id`
          : "only" in which
          ? sql`DELETE FROM sessions WHERE user_id = ${userId} AND id = ${which.only.toString()}
              RETURNING CAST(id AS TEXT) AS id`
          : sql`DELETE FROM sessions WHERE user_id = ${userId} AND id <> ${which.allBut.toString()}
              RETURNING CAST(id AS TEXT) AS id`).pipe(Effect.flatMap(decodeRows(EndedRow)))
        const revocation: Revocation = { user_id: userId, session_ids: "all" in which ? "all" : rows.map((r) => r.id) }
        return { ended: rows.length, revocation }
      }).pipe(dieOnStorageError)

    /** `end` on its own (its own commit), announced. */
    const endNow = (userId: UserId, which: Ending) =>
      Effect.tap(end(userId, which), ({ ended, revocation }) => (ended > 0 ? revocations.publish(revocation) : Effect.void))

    /** Logout: ends the caller's own session. */
    const revoke = (caller: Caller) => endNow(caller.userId, { only: caller.sessionId }).pipe(Effect.asVoid)

    /** Ends one of the user's sessions; SESSION_NOT_FOUND when it is not theirs (or not at all). */
    const revokeOne = (userId: UserId, sessionId: bigint) =>
      endNow(userId, { only: sessionId }).pipe(
        Effect.filterOrFail(({ ended }) => ended > 0, () => new SessionNotFound()),
        Effect.asVoid
      )

    /** Ends every session of the caller but the current one; how many ended. */
    const revokeOthers = (caller: Caller) =>
      Effect.map(endNow(caller.userId, { allBut: caller.sessionId }), ({ ended }) => ended)

    /** Ends every session of a user (suspension, admin 2FA reset); returns how many ended. */
    const revokeAll = (userId: UserId) => Effect.map(endNow(userId, { all: true }), ({ ended }) => ended)

    return {
      create,
      authenticate,
      authenticateNow,
      list,
      end,
      announce: revocations.publish,
      revoke,
      revokeOne,
      revokeOthers,
      revokeAll
    } as const
  })
}) {}
