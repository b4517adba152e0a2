// The rate-limit categories of seed 002 §11 and how many requests each allows per period. The seed's
// example limits are the defaults; `rateLimits.<category>` in the config overrides them.
import { Config, Duration } from "effect"

export const RATE_LIMIT_CATEGORIES = [
  "auth",
  "loginFailures",
  "messageSend",
  "history",
  "dmOpen",
  "dmMessages",
  "bulk",
  "upload",
  "search",
  "keyClaim",
  "gatewayEvents",
  "general"
] as const
export type RateLimitCategory = (typeof RATE_LIMIT_CATEGORIES)[number]

/** `requests` per `per`, as a burst of `requests` that then refills evenly over `per`. */
export interface Quota {
  readonly requests: number
  readonly per: Duration.Duration
}

export const DEFAULT_QUOTAS: { readonly [C in RateLimitCategory]: Quota } = {
  // every /auth/* endpoint, per client address (per account once signed in)
  auth: { requests: 5, per: Duration.minutes(1) },
  // failed password logins per account, whatever the address: spreading guesses over many
  // addresses does not get more of them
  loginFailures: { requests: 10, per: Duration.minutes(15) },
  // per feed (thread messages count toward their feed)
  messageSend: { requests: 5, per: Duration.seconds(5) },
  history: { requests: 30, per: Duration.minutes(1) },
  dmOpen: { requests: 10, per: Duration.hours(1) },
  // per DM
  dmMessages: { requests: 30, per: Duration.minutes(1) },
  bulk: { requests: 5, per: Duration.minutes(1) },
  upload: { requests: 10, per: Duration.minutes(1) },
  search: { requests: 10, per: Duration.minutes(1) },
  // E2EE key packages claimed by one user from another: a one-time package is handed out once, so
  // claims past what starting conversations needs would only drain the other user's supply
  keyClaim: { requests: 10, per: Duration.hours(1) },
  // typing, presence and the other events a client sends over the gateway
  gatewayEvents: { requests: 120, per: Duration.minutes(1) },
  general: { requests: 60, per: Duration.minutes(1) }
}

const quotaConfig = (category: RateLimitCategory) =>
  Config.all({
    requests: Config.integer("requests").pipe(
      Config.validate({ message: "Expected a positive integer", validation: (n) => n > 0 }),
      Config.withDefault(DEFAULT_QUOTAS[category].requests)
    ),
    per: Config.duration("per").pipe(
      Config.validate({ message: "Expected a duration longer than zero", validation: (d) => Duration.toMillis(d) > 0 }),
      Config.withDefault(DEFAULT_QUOTAS[category].per)
    )
  }).pipe(Config.nested(category))

/** `rateLimits.<category>.requests` and `.per`, each with its default. */
export const rateLimitsConfig = Config.all(
  Object.fromEntries(RATE_LIMIT_CATEGORIES.map((c) => [c, quotaConfig(c)])) as {
    readonly [C in RateLimitCategory]: Config.Config<Quota>
  }
)

/** How `rateLimits` is written in `vox.config.ts`: `{ auth: { requests: 5, per: "1 minute" } }`. */
export type RateLimitsFile = { readonly [C in RateLimitCategory]: { readonly requests: number; readonly per: string } }
