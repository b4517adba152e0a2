// multipart/form-data bodies exactly as given (field order, file names, declared types), and the
// request that carries one: for upload endpoints, which the typed SDK does not call.
import { Effect } from "effect"
import { TestServer } from "./server.js"

export interface Part {
  readonly name: string
  readonly filename?: string
  readonly contentType?: string
  readonly data: string | Uint8Array
}

export const BOUNDARY = "----vox-test-boundary-7MA4YWxkTrZu0gW"
export const MULTIPART_TYPE = `multipart/form-data; boundary=${BOUNDARY}`

/** The body of `parts`, separated by BOUNDARY. */
export const multipart = (parts: ReadonlyArray<Part>) =>
  Buffer.concat([
    ...parts.flatMap((p) => [
      Buffer.from(
        `--${BOUNDARY}\r\nContent-Disposition: form-data; name="${p.name}"` +
          (p.filename === undefined ? "" : `; filename="${p.filename}"`) +
          `\r\n${p.contentType === undefined ? "" : `Content-Type: ${p.contentType}\r\n`}\r\n`
      ),
      Buffer.from(p.data),
      Buffer.from("\r\n")
    ]),
    Buffer.from(`--${BOUNDARY}--\r\n`)
  ])

export interface Reply {
  readonly status: number
  readonly headers: Headers
  /** parsed when the response is JSON */
  readonly body: any
  readonly bytes: Buffer
}

/** One request to the suite's server; a body is sent as it is, under `contentType` (a FormData's own when unset). */
export const request = (
  method: string,
  path: string,
  init: { readonly token?: string; readonly body?: Buffer | FormData; readonly contentType?: string } = {}
) =>
  Effect.flatMap(TestServer, ({ url }) =>
    Effect.promise(async (): Promise<Reply> => {
      const headers: Record<string, string> = {}
      if (init.token !== undefined) headers.authorization = `Bearer ${init.token}`
      if (init.contentType !== undefined) headers["content-type"] = init.contentType
      const response = await fetch(url + path, { method, headers, body: init.body ?? null })
      const bytes = Buffer.from(await response.arrayBuffer())
      const json = (response.headers.get("content-type") ?? "").startsWith("application/json")
      return { status: response.status, headers: response.headers, bytes, body: json ? JSON.parse(bytes.toString()) : undefined }
    }))

/** POSTs `parts` as multipart/form-data. */
export const postMultipart = (path: string, token: string, parts: ReadonlyArray<Part>) =>
  request("POST", path, { token, body: multipart(parts), contentType: MULTIPART_TYPE })
