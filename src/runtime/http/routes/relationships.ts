// Blocks, friends and dm-settings (src/protocol/api/relationships.ts), all the caller's own. A block
// made or lifted also changes what the two see of each other's presence, which the gateway's presence
// service tells them once the block is committed.
import type { HttpRouter } from "@effect/platform"
import { Effect } from "effect"
import { Relationships } from "../../../actors/relationships/Relationships.js"
import * as Api from "../../../protocol/api/relationships.js"
import { Presence } from "../../gateway/Presence.js"
import { CurrentCaller, route } from "../route.js"

const actor = Effect.map(CurrentCaller, (c) => c.userId)

export const relationshipsRoutes = <E, R>(router: HttpRouter.HttpRouter<E, R>) =>
  router.pipe(
    route(Api.blockUser, ({ params }) =>
      Effect.gen(function* () {
        const caller = yield* actor
        if (yield* (yield* Relationships).block(caller, params.user_id)) {
          yield* (yield* Presence).pairChanged(caller, params.user_id)
        }
      })),
    route(Api.unblockUser, ({ params }) =>
      Effect.gen(function* () {
        const caller = yield* actor
        if (yield* (yield* Relationships).unblock(caller, params.user_id)) {
          yield* (yield* Presence).pairChanged(caller, params.user_id)
        }
      })),
    route(Api.listBlocks, ({ query }) =>
      Effect.gen(function* () {
        return yield* (yield* Relationships).listBlocks(yield* actor, query)
      })),
    route(Api.addFriend, ({ params }) =>
      Effect.gen(function* () {
        yield* (yield* Relationships).addFriend(yield* actor, params.user_id)
      })),
    route(Api.removeFriend, ({ params }) =>
      Effect.gen(function* () {
        yield* (yield* Relationships).removeFriend(yield* actor, params.user_id)
      })),
    route(Api.listFriends, ({ query }) =>
      Effect.gen(function* () {
        return yield* (yield* Relationships).listFriends(yield* actor, query)
      })),
    route(Api.getDmSettings, () =>
      Effect.gen(function* () {
        return yield* (yield* Relationships).dmSettings(yield* actor)
      })),
    route(Api.updateDmSettings, ({ body }) =>
      Effect.gen(function* () {
        return yield* (yield* Relationships).setDmSettings(yield* actor, body.dm_permission)
      }))
  )
