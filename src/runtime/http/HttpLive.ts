// The HTTP server: every REST route on one router, unknown paths as 404 NOT_FOUND in the protocol's
// error shape, served by node:http on the configured host and port.
import { HttpMiddleware, HttpRouter, HttpServer } from "@effect/platform"
import { NodeHttpServer } from "@effect/platform-node"
import { Context, Effect, Layer } from "effect"
import { createServer, type IncomingMessage, type ServerResponse } from "node:http"
import type { Duplex } from "node:stream"
import { RouteNotFound } from "../../protocol/errors.js"
import { VoxConfig } from "../config/VoxConfig.js"
import { errorResponse } from "./respond.js"
import { SendLane } from "./SendLane.js"
import { adminRoutes } from "./routes/admin.js"
import { auditRoutes } from "./routes/audit.js"
import { authRoutes } from "./routes/auth.js"
import { dmsRoutes } from "./routes/dms.js"
import { embedsRoutes } from "./routes/embeds.js"
import { emojiRoutes } from "./routes/emoji.js"
import { filesRoutes } from "./routes/files.js"
import { invitesRoutes } from "./routes/invites.js"
import { keysRoutes } from "./routes/keys.js"
import { membersRoutes } from "./routes/members.js"
import { messagesRoutes } from "./routes/messages.js"
import { opsRoutes } from "./routes/ops.js"
import { presenceRoutes } from "./routes/presence.js"
import { relationshipsRoutes } from "./routes/relationships.js"
import { reportsRoutes } from "./routes/reports.js"
import { rolesRoutes } from "./routes/roles.js"
import { searchRoutes } from "./routes/search.js"
import { serverRoutes } from "./routes/server.js"
import { sessionsRoutes } from "./routes/sessions.js"
import { spacesRoutes } from "./routes/spaces.js"
import { threadsRoutes } from "./routes/threads.js"
import { twoFactorRoutes } from "./routes/twoFactor.js"
import { userRoutes } from "./routes/users.js"
import { webauthnRoutes } from "./routes/webauthn.js"

export const router = HttpRouter.empty.pipe(
  opsRoutes,
  authRoutes,
  twoFactorRoutes,
  webauthnRoutes,
  adminRoutes,
  sessionsRoutes,
  userRoutes,
  presenceRoutes,
  serverRoutes,
  spacesRoutes,
  rolesRoutes,
  membersRoutes,
  invitesRoutes,
  auditRoutes,
  messagesRoutes,
  threadsRoutes,
  embedsRoutes,
  searchRoutes,
  filesRoutes,
  emojiRoutes
  // pipe takes at most 20 functions: the rest go on a second one
).pipe(dmsRoutes, relationshipsRoutes, reportsRoutes, keysRoutes)

const app = router.pipe(Effect.catchTag("RouteNotFound", () => Effect.succeed(errorResponse(new RouteNotFound()))))

export const HttpAppLive = Layer.unwrapEffect(
  Effect.map(VoxConfig, (config) =>
    HttpServer.serve(app, config.http.accessLog ? HttpMiddleware.logger : HttpMiddleware.withLoggerDisabled)
  )
)

export interface UpgradeDiversion {
  /**
   * Takes over an upgrade request before the router sees it (the gateway's WebSocket), returning true
   * when it did. The router would answer on a socket that is no longer HTTP.
   */
  readonly divert: (request: IncomingMessage, socket: Duplex, head: Buffer) => boolean
  /**
   * Ends the upgraded connections. An upgraded socket still counts as the server's connection, and
   * closing the server waits for every connection: this runs first, or a stop would wait on clients.
   */
  readonly closeAll: Effect.Effect<void>
}

export class Upgrades extends Context.Tag("vox/http/Upgrades")<Upgrades, UpgradeDiversion>() {
  static readonly none = Layer.succeed(Upgrades, { divert: () => false, closeAll: Effect.void })
}

export const HttpServerLive = Layer.unwrapEffect(
  Effect.gen(function* () {
    const config = yield* VoxConfig
    const divert = yield* Upgrades
    const lane = yield* SendLane
    const server = createServer()
    const emit = server.emit.bind(server)
    server.emit = ((event: string, ...args: Array<unknown>) => {
      if (event === "request" && lane.take(args[0] as IncomingMessage, args[1] as ServerResponse)) return true
      if (event === "upgrade" && divert.divert(args[0] as IncomingMessage, args[1] as Duplex, args[2] as Buffer)) return true
      return emit(event, ...args)
    }) as typeof server.emit
    // Built after the server, so released before it: upgraded connections end before the server waits on them.
    return Layer.scopedDiscard(Effect.addFinalizer(() => divert.closeAll)).pipe(
      Layer.provideMerge(NodeHttpServer.layer(() => server, { host: config.http.host, port: config.http.port }))
    )
  })
)

/** `http://localhost:8080`: the address the server listens on, as a user would type it. */
export const listeningUrl = Effect.map(HttpServer.HttpServer, (server) => {
  if (server.address._tag !== "TcpAddress") return "unix socket"
  const host = server.address.hostname
  const shown = host === "0.0.0.0" || host === "::" ? "localhost" : host.includes(":") ? `[${host}]` : host
  return `http://${shown}:${server.address.port}`
})
