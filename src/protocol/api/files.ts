// Files attached to messages: reference API.md §6 "Files". An upload is multipart/form-data (fields
// `file`, `name`, `mime`), read by the server as a stream rather than decoded from JSON; a download
// answers with the file's bytes. The type of a file is what its bytes are, whatever the client says.
// A file belongs to the feed or the DM it was uploaded to: only that place's messages carry it, and
// only who can read that place downloads it.
import { Schema } from "effect"
import { endpoint } from "../endpoint.js"
import { DmId, FeedId, idFromString } from "../ids.js"

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
 * A file for a DM's messages (not in the reference, which names only feed uploads): the same limits,
 * type rules and image processing as a feed's, for the DM's participants only (403 for anyone else,
 * before the body is read). The server stores the bytes as sent: a client that encrypts its DM files
 * uploads ciphertext, stored as application/octet-stream. Its `file_id` goes in a DM message's
 * `attachments`.
 */
export const uploadDmFile = endpoint({
  name: "uploadDmFile",
  method: "POST",
  path: "/api/v1/dms/:dm_id/files",
  access: "account",
  params: Schema.Struct({ dm_id: idFromString(DmId) }),
  success: FileObject,
  status: 201
})

/**
 * The file's bytes with its type, `Content-Disposition` and `X-Content-Type-Options: nosniff`. A feed's
 * file needs membership and VIEW_SPACE and READ_HISTORY in that feed, a DM's file a participant of that
 * DM (who need not be a member); the place is found from the id, so the declared access is any account
 * and the handler checks the place. An id that is not one the server issues is FILE_NOT_FOUND.
 */
export const downloadFile = endpoint({
  name: "downloadFile",
  method: "GET",
  path: "/api/v1/files/:file_id",
  access: "account",
  params: Schema.Struct({ file_id: Schema.String.pipe(Schema.maxLength(256)) }),
  status: 200
})

/** An image's thumbnail (image/webp), under the same access as the file; FILE_NOT_FOUND for other files. */
export const downloadThumbnail = endpoint({
  name: "downloadThumbnail",
  method: "GET",
  path: "/api/v1/files/:file_id/thumbnail",
  access: "account",
  params: Schema.Struct({ file_id: Schema.String.pipe(Schema.maxLength(256)) }),
  status: 200
})
