// The in-process event bus: entities publish protocol events, the gateway subscribes. A later
// cluster issue replaces this layer so each runner receives the events of its own sessions.
import { Effect, PubSub, type Queue, type Scope } from "effect"
import type { Audience } from "../../protocol/events.js"
import type { Snowflake } from "../../protocol/snowflake.js"

/** One published event: `data` is already in its wire form (encoded by the event's schema). */
export interface BusEvent {
  readonly id: Snowflake
  /** The event's position in the log's one total order (commit order, no gaps). */
  readonly seq: number
  readonly type: string
  readonly data: unknown
  readonly audience: Audience
  readonly at: number
}

export class EventBus extends Effect.Service<EventBus>()("vox/EventBus", {
  scoped: Effect.gen(function* () {
    const hub = yield* Effect.acquireRelease(PubSub.unbounded<BusEvent>(), PubSub.shutdown)
    return {
      publish: (events: ReadonlyArray<BusEvent>) => PubSub.publishAll(hub, events).pipe(Effect.asVoid),
      /** A queue of every event published from now on, for as long as the scope lives. */
      subscribe: PubSub.subscribe(hub) as Effect.Effect<Queue.Dequeue<BusEvent>, never, Scope.Scope>
    }
  })
}) {}
