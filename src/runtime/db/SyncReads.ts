// Synchronous reads of the embedded database, for the checks a hot path makes on every request (a
// session, the access epoch), where an effectful SQL statement costs several times the read itself.
// A second, read-only connection to the same SQLite file: in WAL mode it never waits on the server's
// writes and sees every commit from its next statement on, so it answers as exactly as SqlClient.
// PostgreSQL has no synchronous driver: there the reader is absent and hot paths take the usual road.
import { SqlClient } from "@effect/sql"
import { Context, Duration, Effect, Layer, Option } from "effect"
import { createRequire } from "node:module"
import { databaseTarget, VoxConfig } from "../config/VoxConfig.js"

export interface SyncReader {
  /** The rows of a SELECT with positional `?` parameters. */
  readonly all: (sql: string, params: ReadonlyArray<unknown>) => ReadonlyArray<unknown>
}

export class SyncReads extends Context.Tag("vox/SyncReads")<SyncReads, Option.Option<SyncReader>>() {}

/** The little of better-sqlite3 used here (the package ships no types). */
interface Connection {
  pragma(source: string): unknown
  prepare(source: string): { all(...params: ReadonlyArray<unknown>): ReadonlyArray<unknown> }
  close(): void
}
type ConnectionClass = new (filename: string, options: { readonly readonly: boolean; readonly fileMustExist: boolean }) => Connection

export const SyncReadsLive = Layer.scoped(
  SyncReads,
  Effect.gen(function* () {
    // Asked for so that this opens after the database layer has created and migrated the file.
    yield* SqlClient.SqlClient
    const config = yield* VoxConfig
    const target = databaseTarget(config)
    if (target._tag !== "sqlite" || target.filename === ":memory:") return Option.none()
    const Sqlite = createRequire(import.meta.url)("better-sqlite3") as ConnectionClass
    const db = yield* Effect.acquireRelease(
      Effect.sync(() => new Sqlite(target.filename, { readonly: true, fileMustExist: true })),
      (db) => Effect.sync(() => db.close())
    )
    db.pragma(`busy_timeout = ${Math.round(Duration.toMillis(config.database.busyTimeout))}`)
    const statements = new Map<string, ReturnType<Connection["prepare"]>>()
    const reader: SyncReader = {
      all: (sql, params) => {
        let statement = statements.get(sql)
        if (statement === undefined) {
          statement = db.prepare(sql)
          statements.set(sql, statement)
        }
        return statement.all(...params)
      }
    }
    return Option.some(reader)
  })
)
