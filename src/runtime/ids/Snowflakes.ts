// The node's snowflake issuer (worker id from config). Seeded with the highest id already stored in
// any table keyed by snowflakes, so ids keep increasing across a restart onto a clock that stepped back.
import { SqlClient } from "@effect/sql"
import { Effect, Either, Schema } from "effect"
import { makeSnowflakeGenerator, type Snowflake, SnowflakeFromString } from "../../protocol/snowflake.js"
import { VoxConfig } from "../config/VoxConfig.js"

const MaxRow = Schema.Struct({ id: Schema.NullOr(SnowflakeFromString) })

export class Snowflakes extends Effect.Service<Snowflakes>()("vox/Snowflakes", {
  effect: Effect.gen(function* () {
    const config = yield* VoxConfig
    const sql = yield* SqlClient.SqlClient
    const rows = yield* sql`SELECT CAST(MAX(id) AS TEXT) AS id FROM (
        SELECT MAX(id) AS id FROM event_log
        UNION ALL SELECT MAX(id) FROM audit_log
        UNION ALL SELECT MAX(id) FROM sessions
        UNION ALL SELECT MAX(id) FROM messages
      ) AS stored`.pipe(
      Effect.flatMap(Schema.decodeUnknown(Schema.Array(MaxRow))),
      Effect.orDie
    )
    const lastIssued = rows[0]?.id ?? undefined
    const generator = yield* Either.match(
      makeSnowflakeGenerator(config.server.workerId, Date.now, lastIssued === undefined ? undefined : { lastIssued }),
      { onLeft: (e) => Effect.die(e), onRight: Effect.succeed }
    )
    return { next: Effect.sync((): Snowflake => generator.next()) }
  })
}) {}
