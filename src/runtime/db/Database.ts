// The one database of a Vox server: the embedded SQLite file by default, PostgreSQL when
// `database.url` is set. Everything else only sees `SqlClient`.
import { SqlClient } from "@effect/sql"
import { PgClient } from "@effect/sql-pg"
import { SqliteClient } from "@effect/sql-sqlite-node"
import { Context, Duration, Effect, Layer } from "effect"
import * as Fs from "node:fs"
import * as Path from "node:path"
import { databaseTarget, VoxConfig } from "../config/VoxConfig.js"

const sqliteLayer = (filename: string, busyTimeout: Duration.Duration) =>
  Layer.unwrapEffect(
    Effect.sync(() => {
      if (filename !== ":memory:") Fs.mkdirSync(Path.dirname(Path.resolve(filename)), { recursive: true })
      return SqliteClient.layer({ filename })
    })
  ).pipe(
    Layer.tap((context) => {
      const sql = Context.get(context, SqlClient.SqlClient)
      // DECISIONS.md: WAL (set by SqliteClient) with synchronous=FULL, so a write that returned is on
      // disk even if the process is killed the next instant. SqliteClient holds one connection,
      // so these pragmas apply to every statement the server runs.
      return Effect.all([
        sql.unsafe("PRAGMA synchronous = FULL"),
        sql.unsafe("PRAGMA foreign_keys = ON"),
        sql.unsafe(`PRAGMA busy_timeout = ${Math.round(Duration.toMillis(busyTimeout))}`)
      ], { discard: true })
    })
  )

/** SqlClient for the configured database. */
export const DatabaseLive: Layer.Layer<SqlClient.SqlClient, unknown, VoxConfig> = Layer.unwrapEffect(
  Effect.map(VoxConfig, (config) => {
    const target = databaseTarget(config)
    return target._tag === "sqlite"
      ? sqliteLayer(target.filename, config.database.busyTimeout)
      : PgClient.layer({ url: target.url, applicationName: "vox" })
  })
)
