// The server's limits as stored: an administrator's values over the defaults.
import { SqlClient } from "@effect/sql"
import { Effect, Schema } from "effect"
import { DEFAULT_LIMITS, type LimitName, LimitRanges, type ServerLimits } from "../../../protocol/api/server.js"
import { decodeRows, IntColumn } from "../../../runtime/db/columns.js"
import { txStatement } from "../../../runtime/db/txStatement.js"

const LimitRow = Schema.Struct({ name: Schema.String, value: IntColumn })

const isLimitName = (name: string): name is LimitName => name in LimitRanges

/** The limits in force, read in the caller's transaction (so a write sees its own changes). */
export const readLimits = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  const rows = yield* txStatement(sql, "SELECT name, value FROM server_limits", []).pipe(Effect.flatMap(decodeRows(LimitRow)))
  const limits: Record<LimitName, number> = { ...DEFAULT_LIMITS }
  // A row for a limit a later release dropped is ignored, not an error.
  for (const row of rows) if (isLimitName(row.name)) limits[row.name] = row.value
  return limits as ServerLimits
})
