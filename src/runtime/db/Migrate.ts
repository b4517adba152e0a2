// Runs the migrations that the database has not seen yet; the same set on SQLite and PostgreSQL.
import { Migrator } from "@effect/sql"
import { Effect } from "effect"
import { migrations } from "./migrations/index.js"

const run = Migrator.make({})

/** The ids and names of the migrations applied by this call. */
export const migrate = run({ loader: migrations, table: "vox_migrations" }).pipe(
  Effect.withSpan("vox.migrate")
)
