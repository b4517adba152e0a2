// The rate limiter every edge asks (REST here, the gateway for `gatewayEvents`): a request of a
// category from a client (a user, an address, later a webhook) is admitted or refused, with what
// the X-RateLimit-* headers report.
import { Clock, Duration, Effect } from "effect"
import { RateLimited } from "../../protocol/errors.js"
import { VoxConfig } from "../config/VoxConfig.js"
import type { Rate } from "./gcra.js"
import { RATE_LIMIT_CATEGORIES, type RateLimitCategory } from "./quotas.js"
import { MemoryRateLimitStoreLive, RateLimitStore } from "./RateLimitStore.js"

/** What the limiter said about one request. */
export interface RateLimitDecision {
  readonly category: RateLimitCategory
  readonly allowed: boolean
  /** The bucket's size: requests allowed at once. */
  readonly limit: number
  readonly remaining: number
  readonly resetAtMs: number
  readonly retryAfterMs: number
}

/** The response headers of a decision (seed 002 §11; Retry-After on refusals only). */
export const rateLimitHeaders = (d: RateLimitDecision): Record<string, string> => ({
  "x-ratelimit-limit": String(d.limit),
  "x-ratelimit-remaining": String(d.remaining),
  "x-ratelimit-reset": String(Math.ceil(d.resetAtMs / 1000)),
  "x-ratelimit-bucket": d.category,
  ...(d.allowed ? {} : { "retry-after": String(Math.max(1, Math.ceil(d.retryAfterMs / 1000))) })
})

/** The protocol's 429 for a refused request. */
export const rateLimitedError = (d: RateLimitDecision) => new RateLimited({ retry_after_ms: Math.ceil(d.retryAfterMs) })

export class RateLimiter extends Effect.Service<RateLimiter>()("vox/RateLimiter", {
  effect: Effect.gen(function* () {
    const config = yield* VoxConfig
    const store = yield* RateLimitStore
    // The clock the server's fibers read (`take`), for `takeNow`, which runs outside any fiber.
    const clock = yield* Effect.clock
    const rates = new Map<RateLimitCategory, Rate>(RATE_LIMIT_CATEGORIES.map((c) => {
      const quota = config.rateLimits[c]
      return [c, { requests: quota.requests, periodMs: Duration.toMillis(quota.per) }]
    }))
    const rateOf = (category: RateLimitCategory) => rates.get(category)!

    /** Takes one request of `category` from the bucket of `client` (see ./keys.ts). */
    const take = (category: RateLimitCategory, client: string) =>
      Effect.gen(function* () {
        const rate = rateOf(category)
        const verdict = yield* store.take(`${category}:${client}`, rate, yield* Clock.currentTimeMillis)
        const decision: RateLimitDecision = { category, limit: rate.requests, ...verdict }
        return decision
      })

    /**
     * `take` answered synchronously, when the store can: a refusal changes nothing in the bucket,
     * so asking again later is the same question. Undefined when the store cannot answer at once.
     */
    const takeNow = store.takeNow === undefined ? undefined : (category: RateLimitCategory, client: string): RateLimitDecision => {
      const rate = rateOf(category)
      return { category, limit: rate.requests, ...store.takeNow!(`${category}:${client}`, rate, clock.unsafeCurrentTimeMillis()) }
    }

    /** Gives back a request taken before it was known whether it counts (a login that succeeded). */
    const giveBack = (category: RateLimitCategory, client: string) =>
      Effect.flatMap(Clock.currentTimeMillis, (now) => store.giveBack(`${category}:${client}`, rateOf(category), now))

    /** `take`, failing with RATE_LIMITED when refused: for edges that only need yes or no. */
    const admit = (category: RateLimitCategory, client: string) =>
      Effect.filterOrFail(take(category, client), (d) => d.allowed, rateLimitedError)

    return { take, takeNow, giveBack, admit } as const
  }),
  dependencies: [MemoryRateLimitStoreLive]
}) {}
