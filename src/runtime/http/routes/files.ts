// File upload and download (reference API.md §6 "Files"), to a feed or to a DM. A feed upload's
// access (ATTACH_FILES in the feed) is enforced by `route`, a DM upload's (a participant) by the Dm
// entity, both before a byte of the body is read; the body is then streamed to the file store by the
// upload reader, not parsed as JSON. Any refusal, by `route` or here, leaves the rest of the body
// unread and closes the connection (`route` answers failures with closeIfUnread). A download checks
// the file's own feed or DM.
import { HttpRouter, HttpServerRequest, HttpServerResponse } from "@effect/platform"
import { NodeHttpServerRequest } from "@effect/platform-node"
import { Effect, Option } from "effect"
import { randomBytes } from "node:crypto"
import { COMMUNITY_ID, Community } from "../../../actors/community/Community.js"
import { Dm } from "../../../actors/dm/Dm.js"
import { readLimits } from "../../../actors/community/limits/limits.js"
import * as FilesApi from "../../../protocol/api/files.js"
import { FileNotFound, Forbidden } from "../../../protocol/errors.js"
import type { DmId, FeedId, UserId } from "../../../protocol/ids.js"
import { has, Permission } from "../../../protocol/permissions.js"
import { VoxConfig } from "../../config/VoxConfig.js"
import { dieOnStorageError } from "../../db/storageErrors.js"
import { INLINE_TYPES, TEXT_PLAIN } from "../../files/detect.js"
import { makeFileRepo } from "../../files/FileRepo.js"
import { FileStore, type FileVariant } from "../../files/FileStore.js"
import { IMAGE_TYPES, processImage } from "../../files/images.js"
import { contentDisposition, sanitizeFileName } from "../../files/names.js"
import { receiveUpload, type UploadOptions } from "../../files/upload.js"
import { CurrentCaller, rawRoute, route } from "../route.js"

const MiB = 1024 * 1024
const THUMBNAIL_TYPE = "image/webp"

const newFileId = () => `f_${randomBytes(16).toString("base64url")}` as FilesApi.FileId

/**
 * Where the file is downloaded: from `http.publicUrl` when set, else from the Host the client used
 * (a Host that is no URL gives the path alone).
 */
const fileUrl = (id: FilesApi.FileId, variant: FileVariant) =>
  Effect.gen(function* () {
    const config = yield* VoxConfig
    const request = yield* HttpServerRequest.HttpServerRequest
    const path = `/api/v1/files/${id}${variant === "thumbnail" ? "/thumbnail" : ""}`
    const base = Option.match(config.http.publicUrl, {
      onSome: (u) => u.toString(),
      onNone: () => `http://${request.headers["host"] ?? `${config.http.host}:${config.http.port}`}`
    })
    return URL.canParse(path, base) ? new URL(path, base).toString() : path
  })

/**
 * The upload's bytes, received, checked and committed under `id`. Images are committed as processed
 * (without metadata) with their thumbnail; nothing staged outlives this.
 */
const storeUpload = (id: FilesApi.FileId, options: UploadOptions) =>
  Effect.scoped(
    Effect.gen(function* () {
      const store = yield* FileStore
      const incoming = NodeHttpServerRequest.toIncomingMessage(yield* HttpServerRequest.HttpServerRequest)
      const staged = yield* store.stage
      const received = yield* receiveUpload(incoming, staged.path, options)
      if (!IMAGE_TYPES.has(received.type)) {
        yield* store.commit(staged, id, "original").pipe(Effect.orDie)
        return { ...received, width: null, height: null, thumbnail: false }
      }
      const cleaned = yield* store.stage
      const thumbnail = yield* store.stage
      const image = yield* processImage(staged.path, received.type, cleaned.path, thumbnail.path)
      yield* store.commit(image.cleaned === undefined ? staged : cleaned, id, "original").pipe(Effect.orDie)
      yield* store.commit(thumbnail, id, "thumbnail").pipe(Effect.orDie)
      return { ...received, ...image.cleaned, width: image.width, height: image.height, thumbnail: true }
    })
  )

/** Where a file belongs: its downloads are checked against that feed or DM. */
type Place = { readonly feed_id: FeedId; readonly dm_id: null } | { readonly feed_id: null; readonly dm_id: DmId }

/** The caller in the DM, or 403 (the Dm entity's answer, whether or not the DM exists). */
const requireParticipant = (dmId: DmId, userId: UserId) =>
  Effect.flatMap(Dm.client, (client) => client(String(dmId)).Get({ actor: userId }))

const upload = (place: Place) =>
  Effect.gen(function* () {
    const caller = yield* CurrentCaller
    const config = yield* VoxConfig
    const store = yield* FileStore
    const files = yield* makeFileRepo
    const limits = yield* readLimits.pipe(dieOnStorageError)
    const maxFileBytes = Math.min(
      limits.max_attachment_size_mb * MiB,
      Option.getOrElse(config.files.maxBytes, () => Infinity)
    )
    const id = newFileId()
    // The bytes are stored before the row, so a row never names a missing file; bytes without a row
    // (the insert failed, the client went away) are removed.
    const row = yield* Effect.gen(function* () {
      const stored = yield* storeUpload(id, { maxFileBytes, allowedTypes: config.files.allowedTypes })
      const row = {
        id,
        ...place,
        uploader_id: caller.userId,
        name: sanitizeFileName(stored.name ?? stored.filename),
        mime: stored.type,
        size: stored.size,
        sha256: stored.sha256,
        width: stored.width,
        height: stored.height,
        thumbnail: stored.thumbnail,
        created_at: Date.now()
      }
      yield* files.insert(row).pipe(dieOnStorageError)
      return row
    }).pipe(Effect.onError(() => store.remove(id).pipe(Effect.ignore)))
    return {
      file_id: id,
      name: row.name,
      size: row.size,
      mime: row.mime,
      url: yield* fileUrl(id, "original"),
      width: row.width,
      height: row.height,
      thumbnail_url: row.thumbnail ? yield* fileUrl(id, "thumbnail") : null
    }
  })

const download = (fileId: string, variant: FileVariant) =>
  Effect.gen(function* () {
    const caller = yield* CurrentCaller
    // Anything that is not an id the server could have issued names no file (and never a path).
    if (!FilesApi.isFileId(fileId)) return yield* new FileNotFound()
    const files = yield* makeFileRepo
    const file = yield* files.find(fileId).pipe(dieOnStorageError)
    if (Option.isNone(file) || (variant === "thumbnail" && !file.value.thumbnail)) return yield* new FileNotFound()
    const { feed_id, dm_id, name } = file.value
    const mime = variant === "thumbnail" ? THUMBNAIL_TYPE : file.value.mime

    if (dm_id !== null) {
      // A DM's file is its participants' alone, as its messages are.
      yield* requireParticipant(dm_id, caller.userId)
    } else if (feed_id !== null) {
      // The same check as reading the feed's history: VIEW_SPACE, then READ_HISTORY, in that feed.
      const community = (yield* Community.client)(COMMUNITY_ID)
      const member = yield* community.Authorize({
        user_id: caller.userId,
        permission: "VIEW_SPACE",
        space: { type: "feed", id: feed_id }
      }).pipe(Effect.catchTag("SpaceNotFound", () => new FileNotFound()))
      if (!has(member.permissions, Permission.READ_HISTORY)) {
        return yield* new Forbidden({
          message: "You need the READ_HISTORY permission in this feed.",
          missing_permission: "READ_HISTORY"
        })
      }
    } else {
      return yield* Effect.dieMessage(`file ${fileId} belongs to neither a feed nor a DM`)
    }

    const stored = yield* (yield* FileStore).open(fileId, variant).pipe(Effect.orDie)
    if (Option.isNone(stored)) {
      yield* Effect.logWarning("file row without stored bytes", fileId, variant)
      return yield* new FileNotFound()
    }
    return HttpServerResponse.stream(stored.value.content, {
      status: 200,
      contentType: mime === TEXT_PLAIN ? `${TEXT_PLAIN}; charset=utf-8` : mime,
      headers: {
        "content-length": String(stored.value.size),
        "content-disposition": contentDisposition(
          INLINE_TYPES.has(mime) ? "inline" : "attachment",
          variant === "thumbnail" ? `${name}.thumbnail.webp` : name
        ),
        "x-content-type-options": "nosniff",
        "cache-control": "private",
        // Even shown inline, a file is never a page: no scripts, no subresources, its own origin.
        "content-security-policy": "default-src 'none'; sandbox"
      }
    })
  })

export const filesRoutes = <E, R>(router: HttpRouter.HttpRouter<E, R>) =>
  router.pipe(
    route(FilesApi.uploadFile, ({ params }) => upload({ feed_id: params.feed_id, dm_id: null })),
    route(FilesApi.uploadDmFile, ({ params }) =>
      Effect.gen(function* () {
        yield* requireParticipant(params.dm_id, (yield* CurrentCaller).userId)
        return yield* upload({ feed_id: null, dm_id: params.dm_id })
      })),
    rawRoute(FilesApi.downloadFile, ({ params }) => download(params.file_id, "original")),
    rawRoute(FilesApi.downloadThumbnail, ({ params }) => download(params.file_id, "thumbnail"))
  )
