import type { HttpRouter } from "@effect/platform"
import { Effect } from "effect"
import * as EmbedsApi from "../../../protocol/api/embeds.js"
import { Embeds } from "../../embeds/Embeds.js"
import { route } from "../route.js"

export const embedsRoutes = <E, R>(router: HttpRouter.HttpRouter<E, R>) =>
  router.pipe(
    route(EmbedsApi.resolveEmbed, ({ body }) => Effect.flatMap(Embeds, (embeds) => embeds.resolve(body.url)))
  )
