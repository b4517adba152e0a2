// How entities emit events: inside the transaction that changes state, each event is appended to the
// event log; only after the commit is it published on the bus. A rolled-back change publishes nothing,
// and every published event is in the log that sync and resume read.
import { SqlClient, type SqlError } from "@effect/sql"
import { Effect, Schema } from "effect"
import { Audience, type EventDef } from "../../protocol/events.js"
import { stringifyJson } from "../../protocol/json.js"
import { Snowflakes } from "../ids/Snowflakes.js"
import { type BusEvent, EventBus } from "./EventBus.js"

export type Emit = <N extends string, S extends Schema.Schema.AnyNoContext>(
  def: EventDef<N, S>,
  data: Schema.Schema.Type<S>,
  audience: Audience
) => Effect.Effect<void, SqlError.SqlError>

const encodeAudience = Schema.encodeSync(Audience)

export class Events extends Effect.Service<Events>()("vox/Events", {
  effect: Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const bus = yield* EventBus
    const snowflakes = yield* Snowflakes

    /** Runs `body` in a transaction; the events it emits are logged with it and published after it. */
    const transact = <A, E, R>(body: (emit: Emit) => Effect.Effect<A, E, R>) =>
      Effect.gen(function* () {
        const emitted: Array<BusEvent> = []
        const emit: Emit = (def, data, audience) =>
          Effect.gen(function* () {
            // An event that does not fit its own schema is a bug in the emitter, not a user error.
            const wire = yield* Schema.encode(def.schema)(data).pipe(Effect.orDie)
            const event: BusEvent = { id: yield* snowflakes.next, type: def.name, data: wire, audience, at: Date.now() }
            yield* sql`INSERT INTO event_log ${sql.insert({
              id: event.id.toString(),
              type: event.type,
              audience: stringifyJson(encodeAudience(audience)),
              payload: stringifyJson(wire),
              created_at: event.at
            })}`
            emitted.push(event)
          })
        const result = yield* sql.withTransaction(body(emit))
        yield* bus.publish(emitted)
        return result
      })

    return { transact }
  })
}) {}
