// A small web site on 127.0.0.1 for link-preview tests: fixed routes, every request recorded, and
// for each response whether the client hung up before it was all sent.
import { Effect } from "effect"
import * as Http from "node:http"
import type { AddressInfo } from "node:net"

export type PageHandler = (request: Http.IncomingMessage, response: Http.ServerResponse) => void

export interface PageServer {
  readonly port: number
  /** `http://127.0.0.1:<port>` */
  readonly origin: string
  /** `127.0.0.1:<port>`, as `embeds.allowHosts` names it */
  readonly hostPort: string
  /** path and Host header of every request, in order */
  readonly requests: Array<{ readonly path: string; readonly host: string | undefined }>
  /** path of every response the client closed before it was complete */
  readonly abandoned: Array<string>
}

export const html = (head: string, body = "") =>
  `<!doctype html><html><head>${head}</head><body>${body}</body></html>`

export const sendHtml = (text: string, headers: Http.OutgoingHttpHeaders = {}): PageHandler => (_req, res) => {
  res.writeHead(200, { "content-type": "text/html; charset=utf-8", ...headers })
  res.end(text)
}

export const redirect = (location: string, status = 302): PageHandler => (_req, res) => {
  res.writeHead(status, { location })
  res.end()
}

/** Serves `routes` until the scope closes; an unknown path is a 404. */
export const servePages = (routes: (self: { origin: string; port: number }) => Record<string, PageHandler>) =>
  Effect.acquireRelease(
    Effect.async<{ server: Http.Server; site: PageServer }>((resume) => {
      const requests: PageServer["requests"] = []
      const abandoned: Array<string> = []
      let table: Record<string, PageHandler> = {}
      const server = Http.createServer((req, res) => {
        const path = req.url ?? "/"
        requests.push({ path, host: req.headers.host })
        res.on("close", () => {
          if (!res.writableFinished) abandoned.push(path)
        })
        const handler = table[path]
        if (handler === undefined) {
          res.writeHead(404, { "content-type": "text/plain" })
          res.end("not found")
        } else handler(req, res)
      })
      server.listen(0, "127.0.0.1", () => {
        const port = (server.address() as AddressInfo).port
        const origin = `http://127.0.0.1:${port}`
        table = routes({ origin, port })
        resume(Effect.succeed({ server, site: { port, origin, hostPort: `127.0.0.1:${port}`, requests, abandoned } }))
      })
    }),
    ({ server }) =>
      Effect.async<void>((resume) => {
        server.closeAllConnections()
        server.close(() => resume(Effect.void))
      })
  ).pipe(Effect.map(({ site }) => site))
