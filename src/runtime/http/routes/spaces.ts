import type { HttpRouter } from "@effect/platform"
import { Effect } from "effect"
import { COMMUNITY_ID, Community } from "../../../actors/community/Community.js"
import * as SpacesApi from "../../../protocol/api/spaces.js"
import { CurrentCaller, route } from "../route.js"

const community = Effect.map(Community.client, (client) => client(COMMUNITY_ID))

/** The caller's id, for write payloads (`actor`) and the layout they may see. */
const actor = Effect.map(CurrentCaller, (caller) => caller.userId)

export const spacesRoutes = <E, R>(router: HttpRouter.HttpRouter<E, R>) =>
  router.pipe(
    route(SpacesApi.getLayout, () =>
      Effect.gen(function* () {
        return yield* (yield* community).GetLayout({ user_id: yield* actor })
      })),

    route(SpacesApi.getFeed, ({ params }) => Effect.flatMap(community, (c) => c.GetFeed({ feed_id: params.feed_id }))),
    route(SpacesApi.createFeed, ({ body }) =>
      Effect.gen(function* () {
        return yield* (yield* community).CreateFeed({ actor: yield* actor, feed: body })
      })),
    route(SpacesApi.updateFeed, ({ params, body }) =>
      Effect.gen(function* () {
        return yield* (yield* community).UpdateFeed({ actor: yield* actor, feed_id: params.feed_id, patch: body })
      })),
    route(SpacesApi.deleteFeed, ({ params }) =>
      Effect.gen(function* () {
        return yield* (yield* community).DeleteFeed({ actor: yield* actor, feed_id: params.feed_id })
      })),

    route(SpacesApi.getRoom, ({ params }) => Effect.flatMap(community, (c) => c.GetRoom({ room_id: params.room_id }))),
    route(SpacesApi.createRoom, ({ body }) =>
      Effect.gen(function* () {
        return yield* (yield* community).CreateRoom({ actor: yield* actor, room: body })
      })),
    route(SpacesApi.updateRoom, ({ params, body }) =>
      Effect.gen(function* () {
        return yield* (yield* community).UpdateRoom({ actor: yield* actor, room_id: params.room_id, patch: body })
      })),
    route(SpacesApi.deleteRoom, ({ params }) =>
      Effect.gen(function* () {
        return yield* (yield* community).DeleteRoom({ actor: yield* actor, room_id: params.room_id })
      })),

    route(SpacesApi.createCategory, ({ body }) =>
      Effect.gen(function* () {
        return yield* (yield* community).CreateCategory({ actor: yield* actor, category: body })
      })),
    route(SpacesApi.updateCategory, ({ params, body }) =>
      Effect.gen(function* () {
        return yield* (yield* community).UpdateCategory({
          actor: yield* actor,
          category_id: params.category_id,
          patch: body
        })
      })),
    route(SpacesApi.deleteCategory, ({ params }) =>
      Effect.gen(function* () {
        return yield* (yield* community).DeleteCategory({ actor: yield* actor, category_id: params.category_id })
      })),

    route(SpacesApi.setFeedOverride, ({ params, body }) =>
      Effect.gen(function* () {
        return yield* (yield* community).SetOverride({
          actor: yield* actor,
          space_type: "feed",
          space_id: params.feed_id,
          target_type: params.target_type,
          target_id: params.target_id,
          bits: body
        })
      })),
    route(SpacesApi.deleteFeedOverride, ({ params }) =>
      Effect.gen(function* () {
        return yield* (yield* community).DeleteOverride({
          actor: yield* actor,
          space_type: "feed",
          space_id: params.feed_id,
          target_type: params.target_type,
          target_id: params.target_id
        })
      })),
    route(SpacesApi.setRoomOverride, ({ params, body }) =>
      Effect.gen(function* () {
        return yield* (yield* community).SetOverride({
          actor: yield* actor,
          space_type: "room",
          space_id: params.room_id,
          target_type: params.target_type,
          target_id: params.target_id,
          bits: body
        })
      })),
    route(SpacesApi.deleteRoomOverride, ({ params }) =>
      Effect.gen(function* () {
        return yield* (yield* community).DeleteOverride({
          actor: yield* actor,
          space_type: "room",
          space_id: params.room_id,
          target_type: params.target_type,
          target_id: params.target_id
        })
      }))
  )
