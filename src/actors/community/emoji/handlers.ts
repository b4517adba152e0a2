// Behaviour of custom emoji and stickers: one implementation over both tables, which differ only in
// their wire shape, events, server limit and whether names must be unique. Every change is one
// `ctx.write`: the row, its gateway event (to every member) and its audit entry commit together.
import type { Entity } from "@effect/cluster"
import { Rpc } from "@effect/rpc"
import type { SqlError } from "@effect/sql"
import { Effect, Either, Option, Schema } from "effect"
import { EmojiId, emojiImagePath, StickerId, stickerImagePath } from "../../../protocol/api/emoji.js"
import type { LimitName } from "../../../protocol/api/server.js"
import { EmojiNotFound, InvalidBody, LimitReached, StickerNotFound } from "../../../protocol/errors.js"
import * as Ev from "../../../protocol/events.js"
import type { UserId } from "../../../protocol/ids.js"
import { decodeCursor, encodeCursor } from "../../../protocol/pagination.js"
import { dieOnStorageError } from "../../../runtime/db/storageErrors.js"
import type { CommunityContext, Tx } from "../CommunityTx.js"
import { readLimits } from "../limits/limits.js"
import { type ImageRow, makeEmojiRepo, type TableRepo } from "./EmojiRepo.js"
import type { EmojiRpcs, StoredImage } from "./rpcs.js"

const everyone = { _tag: "server" } as const
const seconds = (ms: number) => Math.floor(ms / 1000)
const Cursor = Schema.Struct({ id: Schema.Number })

/** What sets emoji and stickers apart. */
interface Kind<W, NotFound> {
  /** `emoji` / `sticker`: audit event types (`emoji.create`) and the id's metadata key (`emoji_id`) */
  readonly noun: "emoji" | "sticker"
  readonly plural: string
  readonly limit: LimitName
  readonly uniqueNames: boolean
  readonly toWire: (row: ImageRow) => W
  readonly notFound: () => NotFound
  readonly announce: (tx: Tx, change: "create" | "update", value: W) => Effect.Effect<void, SqlError.SqlError>
  readonly announceDelete: (tx: Tx, id: number) => Effect.Effect<void, SqlError.SqlError>
}

const collection = <W, NotFound>(ctx: CommunityContext, repo: TableRepo, kind: Kind<W, NotFound>) => {
  const found = (id: number) =>
    Effect.flatMap(repo.find(id), Option.match({
      onNone: () => Effect.fail(kind.notFound()),
      onSome: Effect.succeed
    }))

  /** Names are compared ignoring case; `except` may keep its own (to change only its case). */
  const requireFreeName = (name: string, except?: number) =>
    Effect.gen(function* () {
      if (!kind.uniqueNames) return
      const holder = yield* repo.findByName(name)
      if (Option.isSome(holder) && holder.value.id !== except) {
        const message = `There is already an ${kind.noun} named "${holder.value.name}".`
        return yield* new InvalidBody({ message, location: "body", issues: [{ path: ["name"], message }] })
      }
    })

  const idKey = `${kind.noun}_id`

  return {
    list: (limit: number, cursor: string | undefined) =>
      Effect.gen(function* () {
        const after = cursor === undefined
          ? 0
          : yield* Either.match(decodeCursor(Cursor, cursor), {
            onLeft: (message) => Effect.fail(new InvalidBody({ message, location: "query" })),
            onRight: (c) => Effect.succeed(c.id)
          })
        // one more than asked tells whether another page follows
        const rows = yield* repo.page(after, limit + 1)
        const items = rows.slice(0, limit)
        const last = items.at(-1)
        return {
          items: items.map(kind.toWire),
          cursor: rows.length > limit && last !== undefined ? encodeCursor({ id: last.id }) : null
        }
      }).pipe(dieOnStorageError),

    get: (id: number) => Effect.map(found(id), kind.toWire).pipe(dieOnStorageError),

    image: (id: number) =>
      Effect.map(found(id), (row) => ({ image_id: row.image_id, mime: row.mime, size: row.size, name: row.name })).pipe(
        dieOnStorageError
      ),

    create: (actor: UserId, name: string, image: StoredImage) =>
      ctx.write((tx) =>
        Effect.gen(function* () {
          const limits = yield* readLimits
          const max = limits[kind.limit]
          if ((yield* repo.count) >= max) {
            return yield* new LimitReached({
              message: `This server has room for ${max} custom ${kind.plural}.`,
              limit: kind.limit,
              max
            })
          }
          yield* requireFreeName(name)
          const row = yield* repo.insert({ name, ...image, creator_id: actor, created_at: Date.now() })
          const value = kind.toWire(row)
          yield* kind.announce(tx, "create", value)
          yield* tx.audit({
            event_type: `${kind.noun}.create`,
            actor_id: actor,
            target_id: row.id,
            metadata: { [idKey]: row.id, name }
          })
          return value
        })
      ).pipe(dieOnStorageError),

    rename: (actor: UserId, id: number, name: string) =>
      ctx.write((tx) =>
        Effect.gen(function* () {
          const before = yield* found(id)
          if (before.name === name) return kind.toWire(before)
          yield* requireFreeName(name, id)
          yield* repo.rename(id, name)
          const value = kind.toWire({ ...before, name })
          yield* kind.announce(tx, "update", value)
          yield* tx.audit({
            event_type: `${kind.noun}.update`,
            actor_id: actor,
            target_id: id,
            metadata: { [idKey]: id, name, previous_name: before.name }
          })
          return value
        })
      ).pipe(dieOnStorageError),

    remove: (actor: UserId, id: number) =>
      ctx.write((tx) =>
        Effect.gen(function* () {
          const row = yield* found(id)
          yield* repo.remove(id)
          yield* kind.announceDelete(tx, id)
          yield* tx.audit({
            event_type: `${kind.noun}.delete`,
            actor_id: actor,
            target_id: id,
            metadata: { [idKey]: id, name: row.name }
          })
          return { image_id: row.image_id, mime: row.mime, size: row.size }
        })
      ).pipe(dieOnStorageError)
  }
}

export const emojiHandlers = (ctx: CommunityContext) =>
  Effect.gen(function* () {
    const repo = yield* makeEmojiRepo

    const emoji = collection(ctx, repo.emoji, {
      noun: "emoji",
      plural: "emoji",
      limit: "max_emoji",
      uniqueNames: true,
      toWire: (row) => {
        const emoji_id = EmojiId.make(row.id)
        return {
          emoji_id,
          name: row.name,
          creator_id: row.creator_id,
          image: emojiImagePath(emoji_id),
          created_at: seconds(row.created_at)
        }
      },
      notFound: () => new EmojiNotFound(),
      announce: (tx, change, value) => tx.emit(change === "create" ? Ev.EmojiCreate : Ev.EmojiUpdate, value, everyone),
      announceDelete: (tx, id) => tx.emit(Ev.EmojiDelete, { emoji_id: EmojiId.make(id) }, everyone)
    })

    const stickers = collection(ctx, repo.stickers, {
      noun: "sticker",
      plural: "stickers",
      limit: "max_stickers",
      uniqueNames: false,
      toWire: (row) => {
        const sticker_id = StickerId.make(row.id)
        return {
          sticker_id,
          name: row.name,
          creator_id: row.creator_id,
          image: stickerImagePath(sticker_id),
          created_at: seconds(row.created_at)
        }
      },
      notFound: () => new StickerNotFound(),
      announce: (tx, change, value) => tx.emit(change === "create" ? Ev.StickerCreate : Ev.StickerUpdate, value, everyone),
      announceDelete: (tx, id) => tx.emit(Ev.StickerDelete, { sticker_id: StickerId.make(id) }, everyone)
    })

    return {
      ListEmoji: ({ payload }) => Rpc.fork(emoji.list(payload.limit, payload.after)),
      GetEmoji: ({ payload }) => Rpc.fork(emoji.get(payload.emoji_id)),
      EmojiImage: ({ payload }) => Rpc.fork(emoji.image(payload.emoji_id)),
      CreateEmoji: ({ payload }) => emoji.create(payload.actor, payload.name, payload.image),
      UpdateEmoji: ({ payload }) => emoji.rename(payload.actor, payload.emoji_id, payload.patch.name),
      DeleteEmoji: ({ payload }) => emoji.remove(payload.actor, payload.emoji_id),

      ListStickers: ({ payload }) => Rpc.fork(stickers.list(payload.limit, payload.after)),
      GetSticker: ({ payload }) => Rpc.fork(stickers.get(payload.sticker_id)),
      StickerImage: ({ payload }) => Rpc.fork(stickers.image(payload.sticker_id)),
      CreateSticker: ({ payload }) => stickers.create(payload.actor, payload.name, payload.image),
      UpdateSticker: ({ payload }) => stickers.rename(payload.actor, payload.sticker_id, payload.patch.name),
      DeleteSticker: ({ payload }) => stickers.remove(payload.actor, payload.sticker_id)
    } satisfies Entity.HandlersFrom<(typeof EmojiRpcs)[number]>
  })
