// One REST request's dealings with the rate limiter: it is admitted from its bucket (the caller's,
// else its address's; per feed where the table says so), a password login also draws from its
// account's failure bucket, and the response reports the bucket it was judged by.
import { HttpServerResponse } from "@effect/platform"
import { Cause, Effect, Exit, Option } from "effect"
import type { Endpoint } from "../../protocol/endpoint.js"
import { addressKey, userKey } from "./keys.js"
import { type RateLimitDecision, RateLimiter, rateLimitedError, rateLimitHeaders } from "./RateLimiter.js"
import { type LimitRule, limitRuleOf, UNLIMITED } from "./rules.js"

export interface Requester {
  /** The signed-in caller, when authentication succeeded. */
  readonly userId: number | undefined
  readonly ip: string | null
}

const failedToAuthenticate = <A, E>(exit: Exit.Exit<A, E>) =>
  Exit.isFailure(exit) &&
  Option.exists(Cause.failureOption(exit.cause), (e) => typeof e === "object" && e !== null && "_tag" in e && e._tag === "AuthFailed")

/** The bucket a request of an endpoint with `rule` is admitted from. */
export const admissionBucket = (rule: LimitRule, who: Requester, params: Readonly<Record<string, unknown>> | undefined) => {
  const client = who.userId === undefined ? addressKey(who.ip) : userKey(who.userId)
  return client + (rule.per === undefined ? "" : `:${rule.per}=${String(params?.[rule.per] ?? "?")}`)
}

/** The limits of one endpoint; `request` makes the per-request state. */
export const endpointLimits = (endpoint: Pick<Endpoint, "method" | "path">) => {
  const rule = limitRuleOf(endpoint)
  return Effect.map(RateLimiter, (limiter) => {
    // the decision the response reports: the last bucket that judged this request
    let decision: RateLimitDecision | undefined

    const judged = (d: RateLimitDecision) =>
      Effect.suspend(() => {
        decision = d
        return d.allowed ? Effect.void : Effect.fail(rateLimitedError(d))
      })

    /** Takes the request from its bucket; `params` are the decoded path parameters, if they decoded. */
    const admit = (who: Requester, params: Readonly<Record<string, unknown>> | undefined) => {
      if (rule === UNLIMITED) return Effect.void
      return Effect.flatMap(limiter.take(rule.category, admissionBucket(rule, who, params)), judged)
    }

    /**
     * Runs the handler; for endpoints counting failures per account, only while the account has
     * failures left. The attempt is charged before it runs (parallel guesses cannot overdraw the
     * bucket) and given back unless it failed with AUTH_FAILED.
     */
    const guard = <A, E, R>(body: unknown, run: Effect.Effect<A, E, R>) => {
      if (rule === UNLIMITED || rule.failuresPerAccount === undefined) return run
      const name = typeof body === "object" && body !== null ? (body as Record<string, unknown>)[rule.failuresPerAccount] : undefined
      if (typeof name !== "string") return run
      const account = `account:${name.toLowerCase()}`
      return limiter.take("loginFailures", account).pipe(
        Effect.flatMap((d) => (d.allowed ? Effect.void : judged(d))),
        Effect.zipRight(run.pipe(
          Effect.onExit((exit) => (failedToAuthenticate(exit) ? Effect.void : limiter.giveBack("loginFailures", account)))
        ))
      )
    }

    /** The response with the X-RateLimit-* headers (and Retry-After on a 429). */
    const stamp = (response: HttpServerResponse.HttpServerResponse) =>
      decision === undefined ? response : HttpServerResponse.setHeaders(response, rateLimitHeaders(decision))

    return { admit, guard, stamp }
  })
}
