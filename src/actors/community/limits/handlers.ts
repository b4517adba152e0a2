// Behaviour of the server's limits. Nothing holds them in memory: every check reads them in its own
// transaction (readLimits), so a changed limit applies to the very next write.
import type { Entity } from "@effect/cluster"
import { Rpc } from "@effect/rpc"
import { SqlClient } from "@effect/sql"
import { Effect } from "effect"
import type { LimitName } from "../../../protocol/api/server.js"
import { dieOnStorageError } from "../../../runtime/db/storageErrors.js"
import type { CommunityContext } from "../CommunityTx.js"
import { readLimits } from "./limits.js"
import type { LimitRpcs } from "./rpcs.js"

export const limitHandlers = (ctx: CommunityContext) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient

    // The same statement on SQLite (3.24+) and PostgreSQL.
    const store = (name: LimitName, value: number) =>
      sql`INSERT INTO server_limits (name, value) VALUES (${name}, ${value})
        ON CONFLICT (name) DO UPDATE SET value = excluded.value`

    return {
      GetLimits: () => Rpc.fork(readLimits.pipe(dieOnStorageError)),

      UpdateLimits: ({ payload: { actor, patch } }) => {
        const changed = Object.entries(patch).filter((e): e is [LimitName, number] => e[1] !== undefined)
        if (changed.length === 0) return readLimits.pipe(dieOnStorageError)
        return ctx.write((tx) =>
          Effect.gen(function* () {
            for (const [name, value] of changed) yield* store(name, value)
            yield* tx.audit({ event_type: "server.limits_update", actor_id: actor, metadata: Object.fromEntries(changed) })
            return yield* readLimits
          })
        ).pipe(dieOnStorageError)
      }
    } satisfies Entity.HandlersFrom<(typeof LimitRpcs)[number]>
  })
