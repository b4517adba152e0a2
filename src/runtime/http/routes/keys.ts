// The key directory and device pairing (reference API.md "E2E Encryption Keys"). Every endpoint takes
// any signed-in account: keys belong to accounts, not to community membership, as DMs do.
import type { HttpRouter } from "@effect/platform"
import { Effect } from "effect"
import { KeyDirectory } from "../../../actors/keys/KeyDirectory.js"
import { Pairing } from "../../../actors/keys/Pairing.js"
import * as Keys from "../../../protocol/api/keys.js"
import { CurrentCaller, route } from "../route.js"

export const keysRoutes = <E, R>(router: HttpRouter.HttpRouter<E, R>) =>
  router.pipe(
    route(Keys.listDevices, () =>
      Effect.gen(function* () {
        return { devices: yield* (yield* KeyDirectory).list((yield* CurrentCaller).userId) }
      })),
    route(Keys.addDevice, ({ body }) =>
      Effect.gen(function* () {
        return yield* (yield* KeyDirectory).addDevice(yield* CurrentCaller, body)
      })),
    route(Keys.removeDevice, ({ params }) =>
      Effect.gen(function* () {
        yield* (yield* KeyDirectory).removeDevice((yield* CurrentCaller).userId, params.device_id)
      })),
    route(Keys.uploadPrekeys, ({ body }) =>
      Effect.gen(function* () {
        return yield* (yield* KeyDirectory).uploadPrekeys(yield* CurrentCaller, body)
      })),
    route(Keys.claimPrekeys, ({ params }) =>
      Effect.gen(function* () {
        return yield* (yield* KeyDirectory).claim((yield* CurrentCaller).userId, params.user_id)
      })),
    route(Keys.startPairing, ({ body, meta }) =>
      Effect.gen(function* () {
        return yield* (yield* Pairing).start(yield* CurrentCaller, meta, body)
      })),
    route(Keys.respondPairing, ({ params, body }) =>
      Effect.gen(function* () {
        yield* (yield* Pairing).respond(yield* CurrentCaller, params.pair_id, body.approved)
      })),
    route(Keys.putKeyBackup, ({ body }) =>
      Effect.gen(function* () {
        yield* (yield* KeyDirectory).putBackup((yield* CurrentCaller).userId, body.encrypted_blob)
      })),
    route(Keys.getKeyBackup, () =>
      Effect.gen(function* () {
        return yield* (yield* KeyDirectory).getBackup((yield* CurrentCaller).userId)
      })),
    route(Keys.resetKeys, () =>
      Effect.gen(function* () {
        yield* (yield* KeyDirectory).reset((yield* CurrentCaller).userId)
      }))
  )
