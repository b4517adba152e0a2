// Messages of feeds: every call goes to the feed's own entity, the single writer of its messages.
// The route has already checked the endpoint's permission in the feed; the caller's permissions there
// travel with the writes whose rules depend on them.
import type { HttpRouter } from "@effect/platform"
import { Effect } from "effect"
import { Feed } from "../../../actors/feed/Feed.js"
import * as Messages from "../../../protocol/api/messages.js"
import type { FeedId } from "../../../protocol/ids.js"
import { CurrentCaller, CurrentMember, route } from "../route.js"
import { checkReactionEmoji } from "./emoji.js"

const feed = (feedId: FeedId) => Effect.map(Feed.client, (client) => client(String(feedId)))

/** The caller and their permissions in the feed. */
const actor = Effect.all({
  actor: Effect.map(CurrentCaller, (c) => c.userId),
  permissions: Effect.map(CurrentMember, (m) => m.permissions)
})

export const messagesRoutes = <E, R>(router: HttpRouter.HttpRouter<E, R>) =>
  router.pipe(
    route(Messages.getHistory, ({ params, query }) =>
      Effect.flatMap(feed(params.feed_id), (f) => f.History({ query }))),
    route(Messages.sendMessage, ({ params, body }) =>
      Effect.gen(function* () {
        const f = yield* feed(params.feed_id)
        return yield* f.Send({ ...(yield* actor), message: body })
      })),
    route(Messages.editMessage, ({ params, body }) =>
      Effect.gen(function* () {
        const caller = yield* CurrentCaller
        return yield* (yield* feed(params.feed_id)).Edit({ actor: caller.userId, msg_id: params.msg_id, body: body.body })
      })),
    route(Messages.deleteMessage, ({ params }) =>
      Effect.gen(function* () {
        const f = yield* feed(params.feed_id)
        yield* f.Delete({ ...(yield* actor), msg_id: params.msg_id })
      })),
    route(Messages.bulkDeleteMessages, ({ params, body }) =>
      Effect.gen(function* () {
        const caller = yield* CurrentCaller
        yield* (yield* feed(params.feed_id)).BulkDelete({ actor: caller.userId, msg_ids: body.msg_ids })
      })),
    route(Messages.addReaction, ({ params }) =>
      Effect.gen(function* () {
        const caller = yield* CurrentCaller
        yield* checkReactionEmoji(params.emoji)
        yield* (yield* feed(params.feed_id)).AddReaction({ actor: caller.userId, msg_id: params.msg_id, emoji: params.emoji })
      })),
    route(Messages.removeReaction, ({ params }) =>
      Effect.gen(function* () {
        const caller = yield* CurrentCaller
        yield* (yield* feed(params.feed_id)).RemoveReaction({ actor: caller.userId, msg_id: params.msg_id, emoji: params.emoji })
      })),
    route(Messages.pinMessage, ({ params }) =>
      Effect.gen(function* () {
        const caller = yield* CurrentCaller
        yield* (yield* feed(params.feed_id)).Pin({ actor: caller.userId, msg_id: params.msg_id })
      })),
    route(Messages.unpinMessage, ({ params }) =>
      Effect.gen(function* () {
        const caller = yield* CurrentCaller
        yield* (yield* feed(params.feed_id)).Unpin({ actor: caller.userId, msg_id: params.msg_id })
      })),
    route(Messages.listPins, ({ params }) => Effect.flatMap(feed(params.feed_id), (f) => f.Pins()))
  )
