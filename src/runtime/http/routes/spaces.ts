import type { HttpRouter } from "@effect/platform"
import { Effect } from "effect"
import { COMMUNITY_ID, Community } from "../../../actors/community/Community.js"
import type { OverrideTargetType, SpaceType } from "../../../protocol/api/spaces.js"
import * as SpacesApi from "../../../protocol/api/spaces.js"
import type { UserId } from "../../../protocol/ids.js"
import { CurrentCaller, route } from "../route.js"

const community = Effect.map(Community.client, (client) => client(COMMUNITY_ID))
type CommunityClient = Effect.Effect.Success<typeof community>

/** Calls the entity as the caller: their id is the `actor` of writes and whom the layout is for. */
const asCaller = <A, E, R>(call: (client: CommunityClient, caller: UserId) => Effect.Effect<A, E, R>) =>
  Effect.gen(function* () {
    const caller = yield* CurrentCaller
    return yield* call(yield* community, caller.userId)
  })

/** The override a path names, in the feed or room it names. */
const overrideAt = (
  space_type: SpaceType,
  space_id: number,
  params: { readonly target_type: OverrideTargetType; readonly target_id: number }
) => ({ space_type, space_id, target_type: params.target_type, target_id: params.target_id })

export const spacesRoutes = <E, R>(router: HttpRouter.HttpRouter<E, R>) =>
  router.pipe(
    route(SpacesApi.getLayout, () => asCaller((c, user_id) => c.GetLayout({ user_id }))),

    route(SpacesApi.getFeed, ({ params }) => Effect.flatMap(community, (c) => c.GetFeed({ feed_id: params.feed_id }))),
    route(SpacesApi.createFeed, ({ body }) => asCaller((c, actor) => c.CreateFeed({ actor, feed: body }))),
    route(SpacesApi.updateFeed, ({ params, body }) =>
      asCaller((c, actor) => c.UpdateFeed({ actor, feed_id: params.feed_id, patch: body }))),
    route(SpacesApi.deleteFeed, ({ params }) => asCaller((c, actor) => c.DeleteFeed({ actor, feed_id: params.feed_id }))),

    route(SpacesApi.getRoom, ({ params }) => Effect.flatMap(community, (c) => c.GetRoom({ room_id: params.room_id }))),
    route(SpacesApi.createRoom, ({ body }) => asCaller((c, actor) => c.CreateRoom({ actor, room: body }))),
    route(SpacesApi.updateRoom, ({ params, body }) =>
      asCaller((c, actor) => c.UpdateRoom({ actor, room_id: params.room_id, patch: body }))),
    route(SpacesApi.deleteRoom, ({ params }) => asCaller((c, actor) => c.DeleteRoom({ actor, room_id: params.room_id }))),

    route(SpacesApi.createCategory, ({ body }) => asCaller((c, actor) => c.CreateCategory({ actor, category: body }))),
    route(SpacesApi.updateCategory, ({ params, body }) =>
      asCaller((c, actor) => c.UpdateCategory({ actor, category_id: params.category_id, patch: body }))),
    route(SpacesApi.deleteCategory, ({ params }) =>
      asCaller((c, actor) => c.DeleteCategory({ actor, category_id: params.category_id }))),

    route(SpacesApi.setFeedOverride, ({ params, body }) =>
      asCaller((c, actor) => c.SetOverride({ actor, ...overrideAt("feed", params.feed_id, params), bits: body }))),
    route(SpacesApi.deleteFeedOverride, ({ params }) =>
      asCaller((c, actor) => c.DeleteOverride({ actor, ...overrideAt("feed", params.feed_id, params) }))),
    route(SpacesApi.setRoomOverride, ({ params, body }) =>
      asCaller((c, actor) => c.SetOverride({ actor, ...overrideAt("room", params.room_id, params), bits: body }))),
    route(SpacesApi.deleteRoomOverride, ({ params }) =>
      asCaller((c, actor) => c.DeleteOverride({ actor, ...overrideAt("room", params.room_id, params) })))
  )
