// Raw HTTP to the suite's server, for what the typed SDK would refuse to send (bad bodies, bad paths,
// missing or odd headers): the literal status, and the body as exact JSON.
import { Effect } from "effect"
import { type Endpoint, fillPath } from "../../src/protocol/endpoint.js"
import { parseJson, stringifyJson } from "../../src/protocol/json.js"
import { TestServer } from "./server.js"

export interface RawRequestInit {
  /** Sent as `authorization: Bearer <token>`. */
  readonly token?: string | undefined
  /** A string is sent as it is, anything else as exact JSON; with `content-type: application/json` unless `headers` names another. */
  readonly body?: unknown
  /** Headers of its own, set last. */
  readonly headers?: Readonly<Record<string, string>> | undefined
}

export interface RawResponse {
  readonly status: number
  /** Exact JSON (integers beyond 2^53 as bigint); the text itself when it is not JSON; undefined when empty. */
  readonly body: any
}

/** One request to the suite's server exactly as given. */
export const rawRequest = (method: string, path: string, init: RawRequestInit = {}): Effect.Effect<RawResponse, never, TestServer> =>
  Effect.flatMap(TestServer, ({ url }) =>
    Effect.promise(async () => {
      const headers: Record<string, string> = {}
      if (init.token !== undefined) headers.authorization = `Bearer ${init.token}`
      if (init.body !== undefined) headers["content-type"] = "application/json"
      Object.assign(headers, init.headers)
      const response = await fetch(url + path, {
        method,
        headers,
        body: init.body === undefined ? null : typeof init.body === "string" ? init.body : stringifyJson(init.body)
      })
      const text = await response.text()
      if (text === "") return { status: response.status, body: undefined }
      const parsed = parseJson(text)
      return { status: response.status, body: parsed.ok ? parsed.value : text }
    })
  )

/** `rawRequest` to a protocol endpoint, its path parameters filled in from `params`. */
export const rawEndpointRequest = (
  endpoint: Pick<Endpoint, "method" | "path">,
  params: Record<string, unknown>,
  init: RawRequestInit = {}
) => rawRequest(endpoint.method, fillPath(endpoint.path, params), init)
