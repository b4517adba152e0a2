// Where the buckets live. One node keeps them in memory; a cluster replaces this layer with a store
// the nodes share (one value per key, updated atomically: see gcra.ts), and nothing else changes.
import { Clock, Context, Duration, Effect, Layer, Schedule } from "effect"
import { giveBack, type Rate, take, type Verdict } from "./gcra.js"

export interface RateLimitStoreShape {
  /** Takes one request from the bucket `key`, atomically: concurrent takes never share a request. */
  readonly take: (key: string, rate: Rate, now: number) => Effect.Effect<Verdict>
  /** Puts one request back into the bucket `key`. */
  readonly giveBack: (key: string, rate: Rate, now: number) => Effect.Effect<void>
  /** `take` answered at once, for stores that can (one in memory); a shared store leaves it out. */
  readonly takeNow?: (key: string, rate: Rate, now: number) => Verdict
}

export class RateLimitStore extends Context.Tag("vox/RateLimitStore")<RateLimitStore, RateLimitStoreShape>() {}

// A full bucket and an absent one are the same: sweeping them keeps memory to the active clients.
const SWEEP_EVERY = Duration.minutes(1)

/** The buckets of this process: each update is synchronous, so it is atomic on one node. */
export const MemoryRateLimitStoreLive = Layer.scoped(
  RateLimitStore,
  Effect.gen(function* () {
    const buckets = new Map<string, number>()
    const sweep = Effect.map(Clock.currentTimeMillis, (now) => {
      for (const [key, tat] of buckets) if (tat <= now) buckets.delete(key)
    })
    yield* Effect.forkScoped(Effect.repeat(sweep, Schedule.spaced(SWEEP_EVERY)))
    const takeNow = (key: string, rate: Rate, now: number) => {
      const step = take(buckets.get(key), now, rate)
      if (step.tat !== undefined) buckets.set(key, step.tat)
      return step.verdict
    }
    return {
      take: (key, rate, now) => Effect.sync(() => takeNow(key, rate, now)),
      takeNow,
      giveBack: (key, rate, now) =>
        Effect.sync(() => {
          const tat = giveBack(buckets.get(key), now, rate)
          if (tat === undefined) buckets.delete(key)
          else buckets.set(key, tat)
        })
    } satisfies RateLimitStoreShape
  })
)
