// A suite's own connection to its server's database, for setup the API cannot do and for the rows the
// API does not show: audit_log, event_log, row counts.
import { SqlClient } from "@effect/sql"
import type { Fragment } from "@effect/sql/Statement"
import { Effect, Layer, Schema } from "effect"
import { parseJson } from "../../src/protocol/json.js"
import { VoxConfig } from "../../src/runtime/config/VoxConfig.js"
import { decodeRows, IntColumn } from "../../src/runtime/db/columns.js"
import { DatabaseLive } from "../../src/runtime/db/Database.js"
import type { Backend } from "./backends.js"
import { TestServer, TestServerLive } from "./server.js"

const suiteDatabase = Effect.map(TestServer, ({ settings }) => DatabaseLive.pipe(Layer.provide(VoxConfig.layerTest(settings))))

/** The test server, plus one connection of the suite's own to its database: `SqlClient` in every test. */
export const TestServerWithDatabaseLive = (backend: Backend) =>
  Layer.provideMerge(Layer.unwrapEffect(suiteDatabase).pipe(Layer.orDie), TestServerLive(backend))

/** Runs a query on a connection of its own to the suite's database, opened for it and closed after it. */
export const withSuiteDatabase = <A, E>(
  query: Effect.Effect<A, E, SqlClient.SqlClient> | ((sql: SqlClient.SqlClient) => Effect.Effect<A, E, SqlClient.SqlClient>)
): Effect.Effect<A, never, TestServer> =>
  Effect.gen(function* () {
    const database = yield* suiteDatabase
    return yield* (Effect.isEffect(query) ? query : Effect.flatMap(SqlClient.SqlClient, query)).pipe(
      Effect.provide(database),
      Effect.orDie
    )
  })

/** Exact JSON as stored (integers beyond 2^53 as bigint). */
const storedJson = (text: string): any => {
  const parsed = parseJson(text)
  if (!parsed.ok) throw new Error(`not JSON: ${text}`)
  return parsed.value
}

const CountRow = Schema.Struct({ n: IntColumn })

/** How many rows a table holds; with `where`, how many of them match it. */
export const countRows = (table: string, where?: (sql: SqlClient.SqlClient) => Fragment) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    (where === undefined
      ? sql`SELECT COUNT(*) AS n FROM ${sql(table)}`
      : sql`SELECT COUNT(*) AS n FROM ${sql(table)} WHERE ${where(sql)}`).pipe(
      Effect.flatMap(decodeRows(CountRow)),
      Effect.map((rows) => rows[0]!.n)
    ))

export interface AuditRow {
  readonly event_type: string
  readonly actor_id: number | null
  readonly target_id: number | null
  readonly metadata: any
}

const AuditColumns = Schema.Struct({
  event_type: Schema.String,
  actor_id: Schema.NullOr(IntColumn),
  target_id: Schema.NullOr(IntColumn),
  metadata: Schema.String
})

/** The audit_log entries that match `where`, oldest first, their metadata parsed. */
export const auditEntries = (where: (sql: SqlClient.SqlClient) => Fragment) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    sql`SELECT event_type, actor_id, target_id, metadata FROM audit_log WHERE ${where(sql)} ORDER BY id`.pipe(
      Effect.flatMap(decodeRows(AuditColumns)),
      Effect.map((rows) => rows.map((r): AuditRow => ({ ...r, metadata: storedJson(r.metadata) })))
    ))

export interface EventRow {
  readonly payload: any
  readonly audience: any
}

const EventColumns = Schema.Struct({ payload: Schema.String, audience: Schema.String })

/** The gateway events of one type in event_log, oldest first, their payload and audience parsed. */
export const eventsOfType = (type: string) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    sql`SELECT payload, audience FROM event_log WHERE type = ${type} ORDER BY id`.pipe(
      Effect.flatMap(decodeRows(EventColumns)),
      Effect.map((rows) => rows.map((r): EventRow => ({ payload: storedJson(r.payload), audience: storedJson(r.audience) })))
    ))
