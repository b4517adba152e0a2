// The community's records: the audit log and sync.
import type { HttpRouter } from "@effect/platform"
import { Effect } from "effect"
import { COMMUNITY_ID, Community } from "../../../actors/community/Community.js"
import * as AuditApi from "../../../protocol/api/audit.js"
import * as SyncApi from "../../../protocol/api/sync.js"
import { CurrentCaller, route } from "../route.js"

const community = Effect.map(Community.client, (client) => client(COMMUNITY_ID))

export const auditRoutes = <E, R>(router: HttpRouter.HttpRouter<E, R>) =>
  router.pipe(
    route(AuditApi.queryAuditLog, ({ query }) => Effect.flatMap(community, (c) => c.QueryAuditLog({ query }))),
    route(SyncApi.sync, ({ body }) =>
      Effect.gen(function* () {
        const caller = yield* CurrentCaller
        return yield* (yield* community).Sync({
          user_id: caller.userId,
          since_ms: body.since_timestamp * 1000,
          categories: body.categories
        })
      }))
  )
