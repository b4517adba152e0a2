// SQL of device pairings (migration 0014, key_pairings). Every change of status is one conditional
// statement, so two answers, or an answer and the expiry sweep, cannot both take effect.
import { SqlClient } from "@effect/sql"
import { Effect, Option, Schema } from "effect"
import { PairMethod } from "../../protocol/api/keys.js"
import { UserId } from "../../protocol/ids.js"
import { decodeRows, IntColumn } from "../../runtime/db/columns.js"

export const PairStatus = Schema.Literal("pending", "approved", "denied", "completed", "expired")
export type PairStatus = typeof PairStatus.Type

const PairingRow = Schema.Struct({
  id: Schema.String,
  user_id: Schema.compose(IntColumn, UserId),
  initiator_session: Schema.String,
  responder_session: Schema.NullOr(Schema.String),
  device_name: Schema.String,
  method: PairMethod,
  temp_public_key: Schema.NullOr(Schema.String),
  ip: Schema.NullOr(Schema.String),
  status: PairStatus,
  created_at: IntColumn,
  expires_at: IntColumn
})
export type Pairing = typeof PairingRow.Type

const ExpiredRow = Schema.Struct({ id: Schema.String, user_id: Schema.compose(IntColumn, UserId) })

/** How long a finished pairing's row is kept (for answers to it: expired, denied). */
const KEEP_MS = 60 * 60 * 1000

export const makePairingRepo = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient

  const insert = (p: Omit<Pairing, "responder_session" | "status">) =>
    sql`INSERT INTO key_pairings ${sql.insert({ ...p, responder_session: null, status: "pending" })}`

  const find = (pairId: string) =>
    sql`SELECT * FROM key_pairings WHERE id = ${pairId}`.pipe(
      Effect.flatMap(decodeRows(PairingRow)),
      Effect.map((rows) => Option.fromNullable(rows[0]))
    )

  /** Moves a pairing from `from` to `to`; false when it was no longer in `from` (someone else moved it). */
  const transition = (pairId: string, from: PairStatus, to: PairStatus, responderSession?: bigint) =>
    (responderSession === undefined
      ? sql`UPDATE key_pairings SET status = ${to} WHERE id = ${pairId} AND status = ${from} RETURNING id`
      : sql`UPDATE key_pairings SET status = ${to}, responder_session = ${responderSession.toString()}
          WHERE id = ${pairId} AND status = ${from} RETURNING id`
    ).pipe(Effect.map((rows) => rows.length > 0))

  /** Marks every open pairing past its time expired; the ones this call expired. */
  const expireDue = (now: number) =>
    sql`UPDATE key_pairings SET status = 'expired'
      WHERE status IN ('pending', 'approved') AND expires_at <= ${now} RETURNING id, user_id`.pipe(
      Effect.flatMap(decodeRows(ExpiredRow))
    )

  /** Forgets pairings that ended a while ago. */
  const purge = (now: number) => sql`DELETE FROM key_pairings WHERE expires_at <= ${now - KEEP_MS}`.pipe(Effect.asVoid)

  return { insert, find, transition, expireDue, purge } as const
})

export class PairingRepo extends Effect.Service<PairingRepo>()("vox/PairingRepo", { effect: makePairingRepo }) {}
