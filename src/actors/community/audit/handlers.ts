import type { Entity } from "@effect/cluster"
import { Rpc } from "@effect/rpc"
import { Effect, Either, Schema } from "effect"
import { InvalidBody } from "../../../protocol/errors.js"
import { decodeCursor, encodeCursor } from "../../../protocol/pagination.js"
import { SnowflakeFromString } from "../../../protocol/snowflake.js"
import { dieOnStorageError } from "../../../runtime/db/storageErrors.js"
import type { CommunityContext } from "../CommunityTx.js"
import { makeAuditRepo } from "./AuditRepo.js"
import type { AuditRpcs } from "./rpcs.js"

const DEFAULT_LIMIT = 50
const AuditCursor = Schema.Struct({ id: SnowflakeFromString })

export const auditHandlers = (_ctx: CommunityContext) =>
  Effect.gen(function* () {
    const repo = yield* makeAuditRepo
    return {
      QueryAuditLog: ({ payload: { query } }) =>
        Rpc.fork(Effect.gen(function* () {
          const cursor = query.cursor === undefined
            ? undefined
            : yield* Either.match(decodeCursor(AuditCursor, query.cursor), {
              onLeft: () => Effect.fail(new InvalidBody({ message: "Invalid cursor", location: "query" })),
              onRight: (c) => Effect.succeed(c.id)
            })
          const limit = query.limit ?? DEFAULT_LIMIT
          const type = query.event_type
          const entries = yield* repo.query({
            eventType: type === undefined
              ? undefined
              : type.endsWith(".*")
              ? { value: type.slice(0, -2), prefix: true }
              : { value: type, prefix: !type.includes(".") },
            actorId: query.actor_id,
            targetId: query.target_id,
            beforeMs: query.before === undefined ? undefined : query.before * 1000,
            // "after 1700000000" means from the next second on
            afterMs: query.after === undefined ? undefined : query.after * 1000 + 999,
            beforeId: cursor,
            limit: limit + 1
          })
          const page = entries.slice(0, limit)
          const last = page.at(-1)
          return {
            entries: page,
            cursor: entries.length > limit && last !== undefined ? encodeCursor({ id: last.entry_id.toString() }) : null
          }
        }).pipe(dieOnStorageError))
    } satisfies Entity.HandlersFrom<(typeof AuditRpcs)[number]>
  })
