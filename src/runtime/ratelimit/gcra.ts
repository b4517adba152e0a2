// The generic cell rate algorithm: a token bucket kept as one number per key, the bucket's
// "theoretical arrival time" (TAT). A request is one emission interval (period / requests) of TAT;
// the bucket is empty when TAT runs more than one period ahead of now. One number per key is what
// lets a store shared by several nodes update a bucket in one atomic step.

export interface Rate {
  readonly requests: number
  readonly periodMs: number
}

export interface Verdict {
  readonly allowed: boolean
  /** Requests that would still be allowed right now. */
  readonly remaining: number
  /** Unix ms when the bucket is full again. */
  readonly resetAtMs: number
  /** Unix ms until the next request is allowed: 0 when this one was. */
  readonly retryAfterMs: number
}

// Periods divided into fractional intervals must not lose a request to rounding.
const EPSILON = 1e-6

/** One request against a bucket whose TAT is `tat` (undefined: full). The new TAT is kept only if allowed. */
export const take = (tat: number | undefined, now: number, rate: Rate): { readonly verdict: Verdict; readonly tat: number | undefined } => {
  const interval = rate.periodMs / rate.requests
  const from = Math.max(tat ?? now, now)
  const next = from + interval
  const earliest = next - rate.periodMs
  if (earliest > now + EPSILON) {
    return { verdict: { allowed: false, remaining: 0, resetAtMs: from, retryAfterMs: earliest - now }, tat }
  }
  const remaining = Math.max(0, Math.floor((rate.periodMs - (next - now)) / interval + EPSILON))
  return { verdict: { allowed: true, remaining, resetAtMs: next, retryAfterMs: 0 }, tat: next }
}

/** Returns one request to a bucket (an attempt that turned out not to count); undefined: full again. */
export const giveBack = (tat: number | undefined, now: number, rate: Rate): number | undefined => {
  if (tat === undefined) return undefined
  const back = tat - rate.periodMs / rate.requests
  return back <= now ? undefined : back
}
