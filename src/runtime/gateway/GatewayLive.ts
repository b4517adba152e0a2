// The gateway on the REST API's port: `GET /gateway?v=1&encoding=json[&compress=zstd]` upgrades to a
// WebSocket served by one fiber per connection (./Connection.ts). The `ws` library takes the upgrade
// before the router sees it, since the socket stops being HTTP. When the server stops, every
// connection is closed with 4008 SERVER_RESTART, which tells clients to resume elsewhere or later.
import { Effect, FiberSet, Layer } from "effect"
import type { IncomingMessage } from "node:http"
import type { Duplex } from "node:stream"
import { WebSocketServer } from "ws"
import { PROTOCOL_VERSION } from "../../protocol/api/ops.js"
import { CloseCode } from "../../protocol/gateway.js"
import { VoxConfig } from "../config/VoxConfig.js"
import { Upgrades } from "../http/HttpLive.js"
import { serveConnection } from "./Connection.js"
import { Delivery } from "./Delivery.js"
import { LiveSessions } from "./LiveSessions.js"
import { Presence } from "./Presence.js"
import { SessionStore } from "./SessionStore.js"
import { Typing } from "./Typing.js"
import { makeZstdStream } from "./zstdStream.js"

export const GATEWAY_PATH = "/gateway"

/** The query of a gateway URL, or why it is refused (before the upgrade, as plain HTTP 400). */
const readQuery = (url: URL): { compress: boolean } | string => {
  const v = url.searchParams.get("v") ?? String(PROTOCOL_VERSION)
  if (v !== String(PROTOCOL_VERSION)) return `Unsupported gateway version ${v}; this server speaks v=${PROTOCOL_VERSION}`
  const encoding = url.searchParams.get("encoding") ?? "json"
  if (encoding !== "json") return `Unsupported encoding ${encoding}; use encoding=json`
  const compress = url.searchParams.get("compress")
  if (compress !== null && compress !== "zstd") return `Unsupported compression ${compress}; use compress=zstd or none`
  return { compress: compress === "zstd" }
}

const refuse = (socket: Duplex, message: string) => {
  const body = JSON.stringify({ error: { code: "INVALID_BODY", message } })
  socket.end(
    `HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n` +
      `Connection: close\r\n\r\n${body}`
  )
}

const GatewayUpgrades = Layer.scoped(
  Upgrades,
  Effect.gen(function* () {
    const config = yield* VoxConfig
    const run = yield* FiberSet.makeRuntime<Effect.Effect.Context<ReturnType<typeof serveConnection>>>()
    const wss = yield* Effect.acquireRelease(
      Effect.sync(() => new WebSocketServer({ noServer: true, maxPayload: config.gateway.maxFrameBytes, perMessageDeflate: false })),
      (wss) =>
        Effect.async<void>((resume) => {
          closeAll(wss)
          wss.close(() => resume(Effect.void))
        })
    )
    const divert = (request: IncomingMessage, socket: Duplex, head: Buffer) => {
      const url = new URL(request.url ?? "/", "http://gateway.invalid")
      if (url.pathname !== GATEWAY_PATH) return false
      const query = readQuery(url)
      if (typeof query === "string") {
        refuse(socket, query)
        return true
      }
      wss.handleUpgrade(request, socket, head, (ws) => {
        run(serveConnection(ws, request, { compressor: query.compress ? makeZstdStream() : null }).pipe(
          Effect.catchAllCause((cause) =>
            Effect.zipRight(
              Effect.logError("Gateway connection failed", cause),
              Effect.sync(() => ws.close(CloseCode.UNKNOWN_ERROR, "Internal error"))
            ))
        ))
      })
      return true
    }
    return { divert, closeAll: Effect.sync(() => closeAll(wss)) }
  })
)

/** Tells every client the server is going away (4008); one that does not answer the close is cut. */
const closeAll = (wss: WebSocketServer) => {
  for (const ws of wss.clients) {
    ws.close(CloseCode.SERVER_RESTART, "Server restarting")
    setTimeout(() => ws.terminate(), CLOSE_GRACE_MS).unref()
  }
}

/** How long a closing client has to answer the close frame before its socket is cut. */
const CLOSE_GRACE_MS = 1_000

/** The gateway and what it needs, providing the HTTP server's upgrade diversion. */
export const GatewayLive = GatewayUpgrades.pipe(
  Layer.provide(Typing.Default),
  Layer.provideMerge(Layer.mergeAll(Delivery.Default, SessionStore.Default, Presence.Default, LiveSessions.Default))
)
