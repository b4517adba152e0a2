// Gateway helpers for tests: a connected client for a user of the suite's server, and waiting for the
// dispatches a test expects (or making sure none came).
import { Duration, Effect, Option, Queue } from "effect"
import { connectGateway, type Dispatch, type GatewayClient, gatewayUrl } from "../../src/client/GatewayClient.js"
import { TestServer } from "./server.js"

/** A gateway session for `token` on the suite's server, closed with the test's scope. */
export const gatewayFor = (token: string, options: { readonly compress?: boolean; readonly reconnect?: boolean } = {}) =>
  Effect.flatMap(TestServer, ({ url }) =>
    connectGateway({ url: gatewayUrl(url, options.compress ?? false), token, ...options }))

/** The next dispatch that satisfies `match`, skipping others; fails after `within`. */
export const nextDispatch = (
  gateway: GatewayClient,
  match: (d: Dispatch) => boolean,
  within: Duration.DurationInput = "5 seconds"
) =>
  Effect.gen(function* () {
    for (;;) {
      const d = yield* Queue.take(gateway.dispatches)
      if (match(d)) return d
    }
  }).pipe(Effect.timeoutFail({ duration: within, onTimeout: () => new Error("expected dispatch did not arrive") }))

/** Every dispatch received within `within` (after which nothing more is expected). */
export const dispatchesWithin = (gateway: GatewayClient, within: Duration.DurationInput = "300 millis") =>
  Effect.gen(function* () {
    yield* Effect.sleep(within)
    return Array.from(yield* Queue.takeAll(gateway.dispatches))
  })

/** The event type `t` with this predicate on its data, or none. */
export const findDispatch = (all: ReadonlyArray<Dispatch>, t: string, match: (d: any) => boolean = () => true) =>
  Option.fromNullable(all.find((x) => x.t === t && match(x.d)))
