// How entities emit events: inside the transaction that changes state, each event is appended to the
// event log; only after the commit is it published on the bus. A rolled-back change publishes nothing,
// and every published event is in the log that sync and resume read.
//
// Each logged event also takes the next position (`seq`) in one total order of the whole log. The
// positions are allocated as the transaction's last step, from a single counter row: on PostgreSQL its
// row lock makes concurrent transactions take their positions in commit order; SQLite has one writer
// anyway. So positions are gap-free and commit-ordered, which is what lets the gateway deliver and
// replay the log in one order on every node and after any restart.
import { SqlClient, type SqlError } from "@effect/sql"
import { Effect, Either, Schema } from "effect"
import { Audience, type EventDef } from "../../protocol/events.js"
import { stringifyJson } from "../../protocol/json.js"
import { decodeRows, IntColumn } from "../db/columns.js"
import { txStatement, valuesOf } from "../db/txStatement.js"
import { Snowflakes } from "../ids/Snowflakes.js"
import { type BusEvent, EventBus } from "./EventBus.js"

export type Emit = <N extends string, S extends Schema.Schema.AnyNoContext>(
  def: EventDef<N, S>,
  data: Schema.Schema.Type<S>,
  audience: Audience
) => Effect.Effect<void, SqlError.SqlError>

const encodeAudience = Schema.encodeSync(Audience)
const LastSeq = Schema.Struct({ last_seq: IntColumn })

export class Events extends Effect.Service<Events>()("vox/Events", {
  effect: Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const bus = yield* EventBus
    const snowflakes = yield* Snowflakes

    /** Takes `count` consecutive positions; the caller's transaction holds them until it ends. */
    const allocate = (count: number) =>
      txStatement(sql, "UPDATE event_sequence SET last_seq = last_seq + ? WHERE id = 1 RETURNING last_seq", [count]).pipe(
        Effect.flatMap(decodeRows(LastSeq)),
        Effect.map((rows) => rows[0]!.last_seq - count + 1),
        // The counter row is ours; a value that does not decode is a broken database, not an input.
        Effect.catchTag("ParseError", Effect.die)
      )

    /** Runs `body` in a transaction; the events it emits are logged with it and published after it. */
    const transact = <A, E, R>(body: (emit: Emit) => Effect.Effect<A, E, R>) =>
      Effect.gen(function* () {
        const pending: Array<Omit<BusEvent, "seq">> = []
        // Encoded without a fiber of its own: a batch of sends emits one event per message.
        const emit: Emit = (def, data, audience) =>
          Effect.suspend(() => {
            const wire = Schema.encodeEither(def.schema)(data)
            // An event that does not fit its own schema is a bug in the emitter, not a user error.
            if (Either.isLeft(wire)) return Effect.die(wire.left)
            return Effect.map(snowflakes.next, (id) => {
              pending.push({ id, type: def.name, data: wire.right, audience, at: Date.now() })
            })
          })
        const [result, logged] = yield* sql.withTransaction(
          Effect.gen(function* () {
            const result = yield* body(emit)
            if (pending.length === 0) return [result, []] as const
            const first = yield* allocate(pending.length)
            const logged: Array<BusEvent> = pending.map((e, i) => ({ ...e, seq: first + i }))
            // The events of one write mostly share their audience (a batch of sends: the feed's).
            const audiences = new Map<Audience, string>()
            const audienceText = (audience: Audience) => {
              let text = audiences.get(audience)
              if (text === undefined) audiences.set(audience, text = stringifyJson(encodeAudience(audience)))
              return text
            }
            yield* txStatement(
              sql,
              `INSERT INTO event_log (id, seq, type, audience, payload, created_at) VALUES ${valuesOf(logged.length, 6)}`,
              logged.flatMap((e) => [e.id.toString(), e.seq, e.type, audienceText(e.audience), stringifyJson(e.data), e.at])
            )
            return [result, logged] as const
          })
        )
        if (logged.length > 0) yield* bus.publish(logged)
        return result
      })

    return { transact }
  })
}) {}
