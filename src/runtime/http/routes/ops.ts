import { HttpRouter, HttpServerRequest } from "@effect/platform"
import { SqlClient } from "@effect/sql"
import { Effect, Option } from "effect"
import * as OpsApi from "../../../protocol/api/ops.js"
import { ServiceUnavailable } from "../../../protocol/errors.js"
import { VoxConfig } from "../../config/VoxConfig.js"
import { route } from "../route.js"

/** ws(s)://host/gateway: from `http.publicUrl` when set, else from the Host the client used. */
const gatewayUrl = Effect.gen(function* () {
  const config = yield* VoxConfig
  const request = yield* HttpServerRequest.HttpServerRequest
  const base = Option.match(config.http.publicUrl, {
    onSome: (u) => new URL(u),
    onNone: () => new URL(`http://${request.headers["host"] ?? `${config.http.host}:${config.http.port}`}`)
  })
  base.protocol = base.protocol === "https:" ? "wss:" : "ws:"
  base.pathname = "/gateway"
  return base.toString()
})

export const opsRoutes = <E, R>(router: HttpRouter.HttpRouter<E, R>) =>
  router.pipe(
  route(OpsApi.health, () => Effect.succeed({ status: "ok" as const })),
  route(OpsApi.ready, () =>
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      yield* sql`SELECT 1`.pipe(
        Effect.timeoutFail({ duration: "2 seconds", onTimeout: () => new ServiceUnavailable() }),
        Effect.mapError(() => new ServiceUnavailable({ message: "The database is unreachable." }))
      )
      return { status: "ok" as const }
    })),
  route(OpsApi.gateway, () =>
    Effect.map(gatewayUrl, (url) => ({
      url,
      media_url: null,
      protocol_version: OpsApi.PROTOCOL_VERSION,
      min_version: OpsApi.PROTOCOL_VERSION,
      max_version: OpsApi.PROTOCOL_VERSION
    })))
  )
