// Custom emoji and stickers (reference API.md §6 "Emoji", "Stickers"), and the check a reaction's
// custom emoji goes through. MANAGE_EMOJI is enforced by `route` before a byte of an upload is read;
// the upload is then streamed into the file store like any file (upload.ts), judged by its bytes,
// re-encoded without its metadata (images.ts) and committed before the entity creates the row: a
// row never names a missing image, and an image whose row was not created is removed.
import { HttpRouter, HttpServerRequest, HttpServerResponse } from "@effect/platform"
import { NodeHttpServerRequest } from "@effect/platform-node"
import { Effect, Option, Schema } from "effect"
import { randomBytes } from "node:crypto"
import { COMMUNITY_ID, Community } from "../../../actors/community/Community.js"
import type { StoredImage } from "../../../actors/community/emoji/rpcs.js"
import * as EmojiApi from "../../../protocol/api/emoji.js"
import type { FileId } from "../../../protocol/api/files.js"
import { EmojiNotFound, Forbidden, InvalidBody, StickerNotFound, UnsupportedMediaType } from "../../../protocol/errors.js"
import { has, Permission } from "../../../protocol/permissions.js"
import { VoxConfig } from "../../config/VoxConfig.js"
import { FileStore } from "../../files/FileStore.js"
import { processImage } from "../../files/images.js"
import { contentDisposition } from "../../files/names.js"
import { receiveUpload } from "../../files/upload.js"
import { decodePart } from "../request.js"
import { CurrentCaller, CurrentMember, rawRoute, route } from "../route.js"

const community = Effect.map(Community.client, (client) => client(COMMUNITY_ID))

const DEFAULT_PAGE = 50
const MULTIPART = /^multipart\/form-data\s*;.*\bboundary=/i

type Noun = "emoji" | "sticker"
const aNoun = (noun: Noun) => (noun === "emoji" ? "An emoji" : "A sticker")

const newImageId = () => `f_${randomBytes(16).toString("base64url")}` as FileId

/** The reference answers a bad image format with 400, like a bad name: it is part of the body. */
const notAnImage = (noun: Noun) => (refused: UnsupportedMediaType) => {
  const message = `${refused.message} ${aNoun(noun)} image is a PNG, GIF or WebP.`
  return new InvalidBody({ message, location: "body", issues: [{ path: ["image"], message }] })
}

/**
 * As in routes/files.ts: a refused upload leaves the rest of its body unread, so the connection
 * cannot carry another request and the response closes it.
 */
const closeIfUnread = Effect.gen(function* () {
  const request = yield* HttpServerRequest.HttpServerRequest
  if (!NodeHttpServerRequest.toIncomingMessage(request).complete) {
    NodeHttpServerRequest.toServerResponse(request).setHeader("connection", "close")
  }
})

/** Receives the `name` and `image` fields, checks both, and commits the cleaned image under `id`. */
const storeImage = <N>(id: FileId, noun: Noun, maxBytes: number, nameSchema: Schema.Schema<N, string>) =>
  Effect.scoped(
    Effect.gen(function* () {
      const store = yield* FileStore
      const incoming = NodeHttpServerRequest.toIncomingMessage(yield* HttpServerRequest.HttpServerRequest)
      // Checked here so that every later UNSUPPORTED_MEDIA_TYPE is about the image itself.
      if (!MULTIPART.test(incoming.headers["content-type"] ?? "")) {
        return yield* new UnsupportedMediaType({ message: `${aNoun(noun)} is uploaded as multipart/form-data.` })
      }
      const staged = yield* store.stage
      const received = yield* receiveUpload(incoming, staged.path, {
        maxFileBytes: maxBytes,
        allowedTypes: EmojiApi.EMOJI_IMAGE_TYPES,
        fileField: EmojiApi.EMOJI_UPLOAD_FIELDS.image
      }).pipe(Effect.catchTag("UnsupportedMediaType", (e) => Effect.fail(notAnImage(noun)(e))))
      const { name } = yield* decodePart(Schema.Struct({ name: nameSchema }), { name: received.name }, "body", "ignore")
      const cleaned = yield* store.stage
      const thumbnail = yield* store.stage // made by processImage, not kept: an emoji is small already
      const image = yield* processImage(staged.path, received.type, cleaned.path, thumbnail.path).pipe(
        Effect.catchTag("UnsupportedMediaType", (e) => Effect.fail(notAnImage(noun)(e)))
      )
      yield* store.commit(image.cleaned === undefined ? staged : cleaned, id, "original").pipe(Effect.orDie)
      const stored: StoredImage = { image_id: id, mime: received.type, size: image.cleaned?.size ?? received.size }
      return { name, image: stored }
    })
  )

/** Stores the upload, then has `create` make its row; the image is removed if that fails. */
const upload = <N, A, E, R>(
  noun: Noun,
  maxBytes: number,
  nameSchema: Schema.Schema<N, string>,
  create: (name: N, image: StoredImage) => Effect.Effect<A, E, R>
) =>
  Effect.gen(function* () {
    const store = yield* FileStore
    const id = newImageId()
    return yield* Effect.flatMap(storeImage(id, noun, maxBytes, nameSchema), ({ image, name }) => create(name, image)).pipe(
      Effect.onError(() => store.remove(id).pipe(Effect.ignore))
    )
  }).pipe(Effect.tapErrorCause(() => closeIfUnread))

/** The row is gone; its image goes after it (a leftover image is harmless, a missing one is not). */
const removeImage = (image: StoredImage) =>
  Effect.flatMap(FileStore, (store) => store.remove(image.image_id)).pipe(
    Effect.catchAll((e) => Effect.logWarning("emoji image not removed", image.image_id, e))
  )

const serveImage = <E>(image: StoredImage & { readonly name: string }, missing: () => E) =>
  Effect.gen(function* () {
    const stored = yield* (yield* FileStore).open(image.image_id, "original").pipe(Effect.orDie)
    if (Option.isNone(stored)) {
      yield* Effect.logWarning("emoji or sticker without stored image", image.image_id)
      return yield* Effect.fail(missing())
    }
    const extension = image.mime.slice(image.mime.indexOf("/") + 1)
    return HttpServerResponse.stream(stored.value.content, {
      status: 200,
      contentType: image.mime,
      headers: {
        "content-length": String(stored.value.size),
        "content-disposition": contentDisposition("inline", `${image.name}.${extension}`),
        "x-content-type-options": "nosniff",
        // an id's image never changes (a rename keeps it, a new image is a new id)
        "cache-control": "private, max-age=86400, immutable",
        "content-security-policy": "default-src 'none'; sandbox"
      }
    })
  })

/**
 * A reaction's emoji, checked before the feed records it (see EmojiParam in messages.ts): a custom
 * emoji of this server must exist under that name; another server's takes USE_EXTERNAL_EMOJI in the
 * feed (the caller's permissions there are CurrentMember's) and cannot be checked further until
 * federation can ask its server.
 */
export const checkReactionEmoji = (emoji: string) =>
  Effect.gen(function* () {
    const ref = EmojiApi.parseEmojiRef(emoji)
    switch (ref._tag) {
      case "unicode":
        return
      case "malformed":
        return yield* new InvalidBody({
          message: "A custom emoji is written name:id, or name:id@domain for another server's.",
          location: "path"
        })
      case "external": {
        const member = yield* CurrentMember
        if (!has(member.permissions, Permission.USE_EXTERNAL_EMOJI)) {
          return yield* new Forbidden({
            message: "You need the USE_EXTERNAL_EMOJI permission in this feed to react with another server's emoji.",
            missing_permission: "USE_EXTERNAL_EMOJI"
          })
        }
        return
      }
      case "custom": {
        const found = yield* (yield* community).GetEmoji({ emoji_id: ref.emoji_id })
        if (found.name !== ref.name) return yield* new EmojiNotFound()
      }
    }
  })

export const emojiRoutes = <E, R>(router: HttpRouter.HttpRouter<E, R>) =>
  router.pipe(
    route(EmojiApi.listEmoji, ({ query }) =>
      Effect.flatMap(community, (c) => c.ListEmoji({ limit: query.limit ?? DEFAULT_PAGE, after: query.after }))),
    route(EmojiApi.getEmoji, ({ params }) => Effect.flatMap(community, (c) => c.GetEmoji(params))),
    route(EmojiApi.createEmoji, () =>
      Effect.gen(function* () {
        const { emoji } = yield* VoxConfig
        const caller = yield* CurrentCaller
        const entity = yield* community
        return yield* upload("emoji", emoji.maxBytes, EmojiApi.EmojiName, (name, image) =>
          entity.CreateEmoji({ actor: caller.userId, name, image }))
      })),
    route(EmojiApi.updateEmoji, ({ params, body }) =>
      Effect.gen(function* () {
        const caller = yield* CurrentCaller
        return yield* (yield* community).UpdateEmoji({ actor: caller.userId, emoji_id: params.emoji_id, patch: body })
      })),
    route(EmojiApi.deleteEmoji, ({ params }) =>
      Effect.gen(function* () {
        const caller = yield* CurrentCaller
        const image = yield* (yield* community).DeleteEmoji({ actor: caller.userId, emoji_id: params.emoji_id })
        yield* removeImage(image)
      }).pipe(Effect.uninterruptible)),
    rawRoute(EmojiApi.downloadEmojiImage, ({ params }) =>
      Effect.gen(function* () {
        const image = yield* (yield* community).EmojiImage(params)
        return yield* serveImage(image, () => new EmojiNotFound())
      })),

    route(EmojiApi.listStickers, ({ query }) =>
      Effect.flatMap(community, (c) => c.ListStickers({ limit: query.limit ?? DEFAULT_PAGE, after: query.after }))),
    route(EmojiApi.getSticker, ({ params }) => Effect.flatMap(community, (c) => c.GetSticker(params))),
    route(EmojiApi.createSticker, () =>
      Effect.gen(function* () {
        const { emoji } = yield* VoxConfig
        const caller = yield* CurrentCaller
        const entity = yield* community
        return yield* upload("sticker", emoji.stickerMaxBytes, EmojiApi.StickerName, (name, image) =>
          entity.CreateSticker({ actor: caller.userId, name, image }))
      })),
    route(EmojiApi.updateSticker, ({ params, body }) =>
      Effect.gen(function* () {
        const caller = yield* CurrentCaller
        return yield* (yield* community).UpdateSticker({ actor: caller.userId, sticker_id: params.sticker_id, patch: body })
      })),
    route(EmojiApi.deleteSticker, ({ params }) =>
      Effect.gen(function* () {
        const caller = yield* CurrentCaller
        const image = yield* (yield* community).DeleteSticker({ actor: caller.userId, sticker_id: params.sticker_id })
        yield* removeImage(image)
      }).pipe(Effect.uninterruptible)),
    rawRoute(EmojiApi.downloadStickerImage, ({ params }) =>
      Effect.gen(function* () {
        const image = yield* (yield* community).StickerImage(params)
        return yield* serveImage(image, () => new StickerNotFound())
      }))
  )
