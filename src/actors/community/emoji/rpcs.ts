// Custom emoji and stickers (reference API.md §6 "Emoji", "Stickers"). The entity keeps their rows;
// their images are put into and taken out of the file store by the HTTP edge, which owns it: an image
// is stored before its row is created, and removed after its row is deleted.
import { Rpc } from "@effect/rpc"
import { Schema } from "effect"
import {
  Emoji,
  EmojiId,
  EmojiName,
  EmojiPatch,
  Sticker,
  StickerId,
  StickerName,
  StickerPatch
} from "../../../protocol/api/emoji.js"
import { FileId } from "../../../protocol/api/files.js"
import { EmojiNotFound, InvalidBody, LimitReached, StickerNotFound } from "../../../protocol/errors.js"
import { UserId } from "../../../protocol/ids.js"
import { Page } from "../../../protocol/pagination.js"

/** An image in the file store: its id there and what its bytes are. */
export const StoredImage = Schema.Struct({ image_id: FileId, mime: Schema.String, size: Schema.Number })
export type StoredImage = typeof StoredImage.Type

/** What a download needs: the stored image and a name to give the file. */
export const ImageDownload = Schema.Struct({ ...StoredImage.fields, name: Schema.String })

const PageRequest = { limit: Schema.Number, after: Schema.optional(Schema.String) }

export const EmojiRpcs = [
  Rpc.make("ListEmoji", { payload: PageRequest, success: Page(Emoji), error: InvalidBody }),
  Rpc.make("GetEmoji", { payload: { emoji_id: EmojiId }, success: Emoji, error: EmojiNotFound }),
  Rpc.make("EmojiImage", { payload: { emoji_id: EmojiId }, success: ImageDownload, error: EmojiNotFound }),
  /** A name another emoji has (ignoring case) is refused; `max_emoji` applies. */
  Rpc.make("CreateEmoji", {
    payload: { actor: UserId, name: EmojiName, image: StoredImage },
    success: Emoji,
    error: Schema.Union(InvalidBody, LimitReached)
  }),
  Rpc.make("UpdateEmoji", {
    payload: { actor: UserId, emoji_id: EmojiId, patch: EmojiPatch },
    success: Emoji,
    error: Schema.Union(EmojiNotFound, InvalidBody)
  }),
  /** Answers with the image the caller now removes from the file store. */
  Rpc.make("DeleteEmoji", {
    payload: { actor: UserId, emoji_id: EmojiId },
    success: StoredImage,
    error: EmojiNotFound
  }),

  Rpc.make("ListStickers", { payload: PageRequest, success: Page(Sticker), error: InvalidBody }),
  Rpc.make("GetSticker", { payload: { sticker_id: StickerId }, success: Sticker, error: StickerNotFound }),
  Rpc.make("StickerImage", { payload: { sticker_id: StickerId }, success: ImageDownload, error: StickerNotFound }),
  /** `max_stickers` applies; sticker names need not be unique. */
  Rpc.make("CreateSticker", {
    payload: { actor: UserId, name: StickerName, image: StoredImage },
    success: Sticker,
    error: Schema.Union(InvalidBody, LimitReached)
  }),
  Rpc.make("UpdateSticker", {
    payload: { actor: UserId, sticker_id: StickerId, patch: StickerPatch },
    success: Sticker,
    error: Schema.Union(StickerNotFound, InvalidBody)
  }),
  Rpc.make("DeleteSticker", {
    payload: { actor: UserId, sticker_id: StickerId },
    success: StoredImage,
    error: StickerNotFound
  })
] as const
