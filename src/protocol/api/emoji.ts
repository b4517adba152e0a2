// Custom emoji and stickers of the community: reference API.md §6 "Emoji" and "Stickers". Both are
// uploaded as multipart/form-data (fields `name` and `image`), read by the server as a stream; an
// image is PNG, GIF or WebP as judged by its bytes, and is served back at its own path.
//
// Beyond the reference (which only lists, creates and deletes): one emoji or sticker can be read on
// its own, renamed (PATCH), and its image downloaded, so clients can render what they list.
import { Schema } from "effect"
import { endpoint } from "../endpoint.js"
import { idFromString, UINT32_MAX, UserId } from "../ids.js"
import { Page, PageQuery } from "../pagination.js"
import { Name, UnixSeconds } from "./fields.js"

/** Emoji and sticker ids are uint32, sequential from 1, never reused (a reaction names its emoji by id). */
export const EmojiId = Schema.Number.pipe(Schema.int(), Schema.between(1, UINT32_MAX), Schema.brand("EmojiId"))
export type EmojiId = typeof EmojiId.Type
export const StickerId = Schema.Number.pipe(Schema.int(), Schema.between(1, UINT32_MAX), Schema.brand("StickerId"))
export type StickerId = typeof StickerId.Type

/** The shortcode of an emoji (`:name:`): letters, digits and underscores. Unique on the server, ignoring case. */
export const EMOJI_NAME_PATTERN = /^[A-Za-z0-9_]{2,32}$/

export const EmojiName = Schema.String.pipe(
  Schema.pattern(EMOJI_NAME_PATTERN, {
    message: () => "Emoji names are 2-32 characters: letters, digits and underscores"
  })
)

export const StickerName = Name("Sticker")

/** The image types an emoji or sticker may be, as detected from its bytes. */
export const EMOJI_IMAGE_TYPES: ReadonlyArray<string> = ["image/png", "image/gif", "image/webp"]

/** The multipart fields of an emoji or sticker upload. */
export const EMOJI_UPLOAD_FIELDS = { name: "name", image: "image" } as const

export const emojiImagePath = (id: EmojiId) => `/api/v1/emoji/${id}/image`
export const stickerImagePath = (id: StickerId) => `/api/v1/stickers/${id}/image`

export const Emoji = Schema.Struct({
  emoji_id: EmojiId,
  name: Schema.String,
  creator_id: UserId,
  /** where the image is downloaded (GET, with the same credentials as any member call) */
  image: Schema.String,
  created_at: UnixSeconds
})
export type Emoji = typeof Emoji.Type

export const Sticker = Schema.Struct({
  sticker_id: StickerId,
  name: Schema.String,
  creator_id: UserId,
  image: Schema.String,
  created_at: UnixSeconds
})
export type Sticker = typeof Sticker.Type

export const EmojiPatch = Schema.Struct({ name: EmojiName })
export type EmojiPatch = typeof EmojiPatch.Type
export const StickerPatch = Schema.Struct({ name: StickerName })
export type StickerPatch = typeof StickerPatch.Type

/**
 * What a reaction's `{emoji}` names, by its spelling (see `EmojiParam` in messages.ts): a unicode
 * emoji (no colon), a custom emoji of this server (`name:id`), or one of another server
 * (`name:id@domain`, federation), which takes USE_EXTERNAL_EMOJI in the feed.
 */
export type EmojiRef =
  | { readonly _tag: "unicode" }
  | { readonly _tag: "custom"; readonly name: string; readonly emoji_id: EmojiId }
  | { readonly _tag: "external"; readonly name: string; readonly domain: string }
  | { readonly _tag: "malformed" }

const CUSTOM_EMOJI = /^([A-Za-z0-9_]{2,32}):([0-9]{1,10})(?:@([A-Za-z0-9.-]{1,253}))?$/
const isEmojiId = Schema.is(EmojiId)

export const parseEmojiRef = (emoji: string): EmojiRef => {
  if (!emoji.includes(":")) return { _tag: "unicode" }
  const match = CUSTOM_EMOJI.exec(emoji)
  if (match === null) return { _tag: "malformed" }
  const [, name, id, domain] = match as unknown as [string, string, string, string | undefined]
  if (domain !== undefined) return { _tag: "external", name, domain }
  const emoji_id = Number(id)
  return isEmojiId(emoji_id) ? { _tag: "custom", name, emoji_id } : { _tag: "malformed" }
}

const EmojiParams = Schema.Struct({ emoji_id: idFromString(EmojiId) })
const StickerParams = Schema.Struct({ sticker_id: idFromString(StickerId) })

// --- emoji ---------------------------------------------------------------------------------------

/** In id order (the order they were added). */
export const listEmoji = endpoint({
  name: "listEmoji",
  method: "GET",
  path: "/api/v1/emoji",
  access: "member",
  query: PageQuery(200),
  success: Page(Emoji)
})

export const getEmoji = endpoint({
  name: "getEmoji",
  method: "GET",
  path: "/api/v1/emoji/:emoji_id",
  access: "member",
  params: EmojiParams,
  success: Emoji
})

/**
 * Multipart fields `name` and `image`. An image larger than `emoji.maxBytes` is refused with 413
 * FILE_TOO_LARGE before the rest is read; one that is not PNG, GIF or WebP by its bytes, a bad or
 * taken name, with 400 INVALID_BODY; past the server limit `max_emoji`, 400 LIMIT_REACHED.
 */
export const createEmoji = endpoint({
  name: "createEmoji",
  method: "POST",
  path: "/api/v1/emoji",
  access: { permission: "MANAGE_EMOJI" },
  success: Emoji,
  status: 201
})

export const updateEmoji = endpoint({
  name: "updateEmoji",
  method: "PATCH",
  path: "/api/v1/emoji/:emoji_id",
  access: { permission: "MANAGE_EMOJI" },
  params: EmojiParams,
  body: EmojiPatch,
  success: Emoji
})

/** Its image goes with it; reactions already made with it stay as they are. */
export const deleteEmoji = endpoint({
  name: "deleteEmoji",
  method: "DELETE",
  path: "/api/v1/emoji/:emoji_id",
  access: { permission: "MANAGE_EMOJI" },
  params: EmojiParams
})

/** The image's bytes with its type, `X-Content-Type-Options: nosniff`, shown inline. */
export const downloadEmojiImage = endpoint({
  name: "downloadEmojiImage",
  method: "GET",
  path: "/api/v1/emoji/:emoji_id/image",
  access: "member",
  params: EmojiParams,
  status: 200
})

// --- stickers ------------------------------------------------------------------------------------

export const listStickers = endpoint({
  name: "listStickers",
  method: "GET",
  path: "/api/v1/stickers",
  access: "member",
  query: PageQuery(200),
  success: Page(Sticker)
})

export const getSticker = endpoint({
  name: "getSticker",
  method: "GET",
  path: "/api/v1/stickers/:sticker_id",
  access: "member",
  params: StickerParams,
  success: Sticker
})

/** As createEmoji, with `emoji.stickerMaxBytes` and the server limit `max_stickers`; names are free text. */
export const createSticker = endpoint({
  name: "createSticker",
  method: "POST",
  path: "/api/v1/stickers",
  access: { permission: "MANAGE_EMOJI" },
  success: Sticker,
  status: 201
})

export const updateSticker = endpoint({
  name: "updateSticker",
  method: "PATCH",
  path: "/api/v1/stickers/:sticker_id",
  access: { permission: "MANAGE_EMOJI" },
  params: StickerParams,
  body: StickerPatch,
  success: Sticker
})

export const deleteSticker = endpoint({
  name: "deleteSticker",
  method: "DELETE",
  path: "/api/v1/stickers/:sticker_id",
  access: { permission: "MANAGE_EMOJI" },
  params: StickerParams
})

export const downloadStickerImage = endpoint({
  name: "downloadStickerImage",
  method: "GET",
  path: "/api/v1/stickers/:sticker_id/image",
  access: "member",
  params: StickerParams,
  status: 200
})
