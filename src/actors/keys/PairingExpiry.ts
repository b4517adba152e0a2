// Pairings expire on their own (seed 002 §8: 5 minutes): a sweep marks those past their time and tells
// the user's sessions DEVICE_PAIR_EXPIRED, whether or not anyone touches the pairing again. Several
// nodes may sweep at once: each expiry is one conditional update, so each is announced once.
import { Duration, Effect, Layer, Schedule } from "effect"
import { Pairing } from "./Pairing.js"

export const PairingExpiryLive = Layer.scopedDiscard(
  Effect.gen(function* () {
    const pairing = yield* Pairing
    // A tenth of the pairing's time, so an expiry is announced at most that late; never busier than 10 per second.
    const every = Duration.millis(Math.min(10_000, Math.max(100, pairing.ttlMs / 10)))
    yield* pairing.sweep.pipe(
      Effect.catchAllCause((cause) => Effect.logWarning("Expiring device pairings failed", cause)),
      Effect.repeat(Schedule.spaced(every)),
      Effect.forkScoped
    )
  })
)
