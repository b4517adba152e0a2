// GET /users/{id}/presence (src/protocol/api/presence.ts): what others see of the user right now,
// read from the gateway's presence service (invisible shows as offline, an expired custom status as none,
// and anyone on the other side of a block with the caller as offline).
import type { HttpRouter } from "@effect/platform"
import { Effect } from "effect"
import { COMMUNITY_ID, Community } from "../../../actors/community/Community.js"
import * as PresenceApi from "../../../protocol/api/presence.js"
import { Presence } from "../../gateway/Presence.js"
import { CurrentCaller, route } from "../route.js"

export const presenceRoutes = <E, R>(router: HttpRouter.HttpRouter<E, R>) =>
  router.pipe(
    route(PresenceApi.getUserPresence, ({ params }) =>
      Effect.gen(function* () {
        // An account that never existed is USER_NOT_FOUND, not "offline".
        yield* (yield* Community.client)(COMMUNITY_ID).Member({ user_id: params.user_id })
        const viewer = (yield* CurrentCaller).userId
        return yield* Effect.flatMap(Presence, (presence) => presence.seenBy(viewer, params.user_id))
      }))
  )
