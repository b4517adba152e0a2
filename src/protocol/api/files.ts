// Files attached to messages: reference API.md §6 "Files". An upload is multipart/form-data (fields
// `file`, `name`, `mime`), read by the server as a stream rather than decoded from JSON; a download
// answers with the file's bytes. The type of a file is what its bytes are, whatever the client says.
import { Schema } from "effect"
import { endpoint } from "../endpoint.js"
import { FeedId, idFromString } from "../ids.js"

/**
 * `f_` and 22 base64url characters (128 random bits). Issued by the server only; nothing else can
 * match, so no id ever names a path outside the file store.
 */
export const FILE_ID_PATTERN = /^f_[A-Za-z0-9_-]{22}$/

export const FileId = Schema.String.pipe(
  Schema.pattern(FILE_ID_PATTERN, { message: () => "Expected a file id" }),
  Schema.brand("FileId")
)
export type FileId = typeof FileId.Type

export const isFileId = Schema.is(FileId)

/** The multipart fields of an upload. `name` and `mime` are advisory: the name is cleaned, the type detected. */
export const UPLOAD_FIELDS = ["file", "name", "mime"] as const

/** An uploaded file; its `file_id` goes in a message's `attachments`. */
export const FileObject = Schema.Struct({
  file_id: FileId,
  /** the display name, cleaned of paths and control characters */
  name: Schema.String,
  /** bytes */
  size: Schema.Number,
  /** the type detected from the content, not the one the client sent */
  mime: Schema.String,
  /** where to download it (GET /api/v1/files/{file_id}, with the same credentials) */
  url: Schema.String,
  /** images: the size in pixels, upright (an animation's is that of one frame); null otherwise */
  width: Schema.NullOr(Schema.Number),
  height: Schema.NullOr(Schema.Number),
  /** images: a WebP of at most 256×256 (GET /api/v1/files/{file_id}/thumbnail); null otherwise */
  thumbnail_url: Schema.NullOr(Schema.String)
})
export type FileObject = typeof FileObject.Type

/**
 * Multipart upload, streamed to disk. A body larger than `max_attachment_size_mb` is refused with 413
 * FILE_TOO_LARGE as soon as that is known (from Content-Length, before reading), a type outside the
 * server's allowlist with 415 UNSUPPORTED_MEDIA_TYPE. Images (PNG, JPEG, WebP) are stored re-encoded
 * without their metadata (EXIF, GPS, XMP) and turned upright: `size` is that of the stored file.
 */
export const uploadFile = endpoint({
  name: "uploadFile",
  method: "POST",
  path: "/api/v1/feeds/:feed_id/files",
  access: { permission: "ATTACH_FILES", space: "feed_id" },
  params: Schema.Struct({ feed_id: idFromString(FeedId) }),
  success: FileObject,
  status: 201
})

/**
 * The file's bytes with its type, `Content-Disposition` and `X-Content-Type-Options: nosniff`. The
 * caller needs VIEW_SPACE and READ_HISTORY in the file's feed; that feed is found from the id, so the
 * declared access is membership and the handler checks the feed. The id is checked against
 * FILE_ID_PATTERN after access (anything else is FILE_NOT_FOUND), so a non-member learns nothing.
 */
export const downloadFile = endpoint({
  name: "downloadFile",
  method: "GET",
  path: "/api/v1/files/:file_id",
  access: "member",
  params: Schema.Struct({ file_id: Schema.String.pipe(Schema.maxLength(256)) }),
  status: 200
})

/** An image's thumbnail (image/webp), under the same access as the file; FILE_NOT_FOUND for other files. */
export const downloadThumbnail = endpoint({
  name: "downloadThumbnail",
  method: "GET",
  path: "/api/v1/files/:file_id/thumbnail",
  access: "member",
  params: Schema.Struct({ file_id: Schema.String.pipe(Schema.maxLength(256)) }),
  status: 200
})
