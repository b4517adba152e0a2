// A snowflake above 2^53 crosses the real HTTP pipeline exactly, in both directions: SDK encoding, the
// server's body reader and schema decoding, the handler, response encoding, SDK decoding.
import { FetchHttpClient, HttpRouter, HttpServer } from "@effect/platform"
import { NodeHttpServer } from "@effect/platform-node"
import { expect, layer } from "@effect/vitest"
import { Effect, Layer, Schema } from "effect"
import { makeVoxClient } from "../../../src/client/VoxClient.js"
import { endpoint } from "../../../src/protocol/endpoint.js"
import { Snowflake } from "../../../src/protocol/snowflake.js"
import { PermissionSet } from "../../../src/protocol/permissions.js"
import { VoxConfig } from "../../../src/runtime/config/VoxConfig.js"
import { listeningUrl } from "../../../src/runtime/http/HttpLive.js"
import { route } from "../../../src/runtime/http/route.js"
import { VoxCoreLive } from "../../../src/runtime/VoxRuntime.js"
import { tempDir } from "../../support/backends.js"
import { createServer } from "node:http"

// An endpoint of this test only: it echoes a snowflake and a permission set and derives a successor,
// so a lossy hop anywhere would show.
const Echo = Schema.Struct({ id: Snowflake, permissions: PermissionSet })
const echo = endpoint({
  name: "echo",
  method: "POST",
  path: "/test/echo",
  access: "public",
  body: Echo,
  success: Schema.Struct({ ...Echo.fields, next: Snowflake })
})

// the real route pipeline needs the real services behind it (sessions, config) on a scratch database
const CoreTest = Layer.unwrapScoped(Effect.map(tempDir, (dataDir) => VoxCoreLive(VoxConfig.layerTest({ dataDir }))))

const ServerTest = HttpServer.serve(
  HttpRouter.empty.pipe(route(echo, ({ body }) => Effect.succeed({ ...body, next: (body.id + 1n) as Snowflake })))
).pipe(
  Layer.provideMerge(NodeHttpServer.layer(createServer, { port: 0, host: "127.0.0.1" })),
  Layer.provide(CoreTest)
)

layer(ServerTest, { excludeTestServices: true })("lossless JSON over HTTP", (it) => {
  it.effect("2^63 + 7 and ADMINISTRATOR round-trip exactly", () =>
    Effect.gen(function* () {
      const url = yield* listeningUrl
      const client = yield* makeVoxClient({ baseUrl: url }).pipe(Effect.provide(FetchHttpClient.layer))
      const id = ((1n << 63n) + 7n) as Snowflake
      const permissions = ((1n << 63n) | 1n) as PermissionSet
      expect(Number(id)).toBe(Number(id + 1n)) // a double cannot tell them apart; the wire must
      const result = yield* client.call(echo, { body: { id, permissions } })
      expect(result).toEqual({ id, permissions, next: id + 1n })
    }))

  it.effect("a raw request with a 64-bit integer literal is read exactly", () =>
    Effect.gen(function* () {
      const url = yield* listeningUrl
      const response = yield* Effect.promise(() =>
        fetch(`${url}/test/echo`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: '{"id": 18446744073709551614, "permissions": 9223372036854775808}'
        }).then((r) => r.text())
      )
      expect(response).toBe('{"id":18446744073709551614,"permissions":9223372036854775808,"next":18446744073709551615}')
    }))
})
