// Threads of feeds: every call goes to the entity of the thread's feed, the single writer of its
// threads and their messages. The route has already checked the endpoint's permission in that feed
// (thread paths all name the feed: see src/protocol/api/threads.ts for the deviation from the reference).
import type { HttpRouter } from "@effect/platform"
import { Effect } from "effect"
import { Feed } from "../../../actors/feed/Feed.js"
import type { FeedId } from "../../../protocol/ids.js"
import * as Threads from "../../../protocol/api/threads.js"
import { CurrentCaller, CurrentMember, route } from "../route.js"

const feed = (feedId: FeedId) => Effect.map(Feed.client, (client) => client(String(feedId)))

/** The caller and their permissions in the feed. */
const actor = Effect.all({
  actor: Effect.map(CurrentCaller, (c) => c.userId),
  permissions: Effect.map(CurrentMember, (m) => m.permissions)
})

const caller = Effect.map(CurrentCaller, (c) => c.userId)

export const threadsRoutes = <E, R>(router: HttpRouter.HttpRouter<E, R>) =>
  router.pipe(
    route(Threads.createThread, ({ params, body }) =>
      Effect.gen(function* () {
        const f = yield* feed(params.feed_id)
        return yield* f.CreateThread({ actor: yield* caller, thread: body })
      })),
    route(Threads.listThreads, ({ params, query }) => Effect.flatMap(feed(params.feed_id), (f) => f.Threads({ query }))),
    route(Threads.updateThread, ({ params, body }) =>
      Effect.gen(function* () {
        const f = yield* feed(params.feed_id)
        return yield* f.UpdateThread({ ...(yield* actor), thread_id: params.thread_id, patch: body })
      })),
    route(Threads.deleteThread, ({ params }) =>
      Effect.gen(function* () {
        const f = yield* feed(params.feed_id)
        yield* f.DeleteThread({ actor: yield* caller, thread_id: params.thread_id })
      })),
    route(Threads.getThreadHistory, ({ params, query }) =>
      Effect.flatMap(feed(params.feed_id), (f) => f.History({ thread_id: params.thread_id, query }))),
    route(Threads.sendThreadMessage, ({ params, body }) =>
      Effect.gen(function* () {
        const f = yield* feed(params.feed_id)
        return yield* f.Send({ ...(yield* actor), thread_id: params.thread_id, message: body })
      })),
    route(Threads.subscribeThread, ({ params }) =>
      Effect.gen(function* () {
        const f = yield* feed(params.feed_id)
        yield* f.Subscribe({ actor: yield* caller, thread_id: params.thread_id })
      })),
    route(Threads.unsubscribeThread, ({ params }) =>
      Effect.gen(function* () {
        const f = yield* feed(params.feed_id)
        yield* f.Unsubscribe({ actor: yield* caller, thread_id: params.thread_id })
      }))
  )
