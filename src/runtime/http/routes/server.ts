import type { HttpRouter } from "@effect/platform"
import { Effect } from "effect"
import { COMMUNITY_ID, Community } from "../../../actors/community/Community.js"
import * as ServerApi from "../../../protocol/api/server.js"
import { CurrentCaller, route } from "../route.js"

const community = Effect.map(Community.client, (client) => client(COMMUNITY_ID))

export const serverRoutes = <E, R>(router: HttpRouter.HttpRouter<E, R>) =>
  router.pipe(
    route(ServerApi.getServer, () => Effect.flatMap(community, (c) => c.GetServer())),
    route(ServerApi.updateServer, ({ body }) =>
      Effect.gen(function* () {
        const caller = yield* CurrentCaller
        return yield* (yield* community).UpdateServer({ actor: caller.userId, patch: body })
      })),
    route(ServerApi.getLimits, () => Effect.flatMap(community, (c) => c.GetLimits())),
    route(ServerApi.updateLimits, ({ body }) =>
      Effect.gen(function* () {
        const caller = yield* CurrentCaller
        return yield* (yield* community).UpdateLimits({ actor: caller.userId, patch: body })
      }))
  )
