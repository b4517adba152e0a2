import { HttpRouter } from "@effect/platform"
import { Effect } from "effect"
import { COMMUNITY_ID, Community } from "../../../actors/community/Community.js"
import * as ServerApi from "../../../protocol/api/server.js"
import { Permission } from "../../../protocol/permissions.js"
import { route } from "../route.js"
import { requireServerPermission } from "./guard.js"

const community = Effect.map(Community.client, (client) => client(COMMUNITY_ID))

export const serverRoutes = <E, R>(router: HttpRouter.HttpRouter<E, R>) =>
  router.pipe(
  route(ServerApi.getServer, () => Effect.flatMap(community, (c) => c.GetServer())),
  route(ServerApi.updateServer, ({ body }) =>
    Effect.gen(function* () {
      yield* requireServerPermission(Permission.MANAGE_SERVER)
      return yield* (yield* community).UpdateServer({ patch: body })
    }))
  )
