// Uploads and downloads of message files as a client sends them, and what the server keeps of them:
// rows of the files table and uploads still being staged.
import { Effect, Schema } from "effect"
import * as Fs from "node:fs"
import * as Path from "node:path"
import { decodeRows, IntColumn } from "../../src/runtime/db/columns.js"
import { withSuiteDatabase } from "./db.js"
import { type Part, postMultipart, request } from "./multipart.js"
import { TestServer } from "./server.js"

/** A 1×1 PNG. */
export const PNG = Buffer.from(
  "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==",
  "base64"
)

export const upload = (token: string, feedId: number, parts: ReadonlyArray<Part>) =>
  postMultipart(`/api/v1/feeds/${feedId}/files`, token, parts)

/** `data` as the `file` part, with the `name` and `mime` fields when given. */
const fileParts = (data: string | Uint8Array, name?: string, mime?: string): ReadonlyArray<Part> => [
  { name: "file", filename: "upload.bin", contentType: mime ?? "application/octet-stream", data },
  ...(name === undefined ? [] : [{ name: "name", data: name }]),
  ...(mime === undefined ? [] : [{ name: "mime", data: mime }])
]

/** Uploads `data` to a feed as the `file` part, with the `name` and `mime` fields when given. */
export const uploadFile = (token: string, feedId: number, data: string | Uint8Array, name?: string, mime?: string) =>
  upload(token, feedId, fileParts(data, name, mime))

/** Uploads `data` to a DM, as `uploadFile` does to a feed. */
export const uploadDmFile = (token: string, dmId: number, data: string | Uint8Array, name?: string, mime?: string) =>
  postMultipart(`/api/v1/dms/${dmId}/files`, token, fileParts(data, name, mime))

/** The file, or with `/thumbnail` after the id its thumbnail. */
export const download = (token: string, fileId: string) => request("GET", `/api/v1/files/${fileId}`, { token })

const FileRow = Schema.Struct({
  id: Schema.String,
  /** null for a DM's file */
  feed_id: Schema.NullOr(IntColumn),
  name: Schema.String,
  mime: Schema.String,
  size: IntColumn,
  sha256: Schema.String
})

/** The rows of the files table, straight from the database. */
export const storedFiles = withSuiteDatabase((sql) =>
  sql`SELECT id, feed_id, name, mime, size, sha256 FROM files`.pipe(Effect.flatMap(decodeRows(FileRow)))
)

/** Uploads in progress: none may be left behind by a finished or refused one. */
export const staging = Effect.map(TestServer, ({ settings }) => Fs.readdirSync(Path.join(settings.dataDir!, "files", "tmp")))
