// SQL of the community's structure: categories, feeds, rooms and their permission overrides.
import { SqlClient } from "@effect/sql"
import { Effect, Option, Schema } from "effect"
import {
  type Category,
  type Feed,
  FeedType,
  type OverrideTargetType,
  type PermissionOverride,
  type Room,
  RoomType,
  type SpaceType
} from "../../../protocol/api/spaces.js"
import { CategoryId, FeedId, RoomId, TargetId } from "../../../protocol/ids.js"
import { type PermissionSet, PermissionSetFromString } from "../../../protocol/permissions.js"
import { BoolColumn, decodeRows, IntColumn } from "../../../runtime/db/columns.js"

const CategoryRow = Schema.Struct({
  id: Schema.compose(IntColumn, CategoryId),
  name: Schema.String,
  position: IntColumn
})

const ParentColumn = Schema.NullOr(Schema.compose(IntColumn, CategoryId))

const FeedRow = Schema.Struct({
  id: Schema.compose(IntColumn, FeedId),
  name: Schema.String,
  type: FeedType,
  category_id: ParentColumn,
  position: IntColumn,
  topic: Schema.NullOr(Schema.String),
  nsfw: BoolColumn,
  slowmode_seconds: IntColumn
})
type FeedRow = typeof FeedRow.Type

const RoomRow = Schema.Struct({
  id: Schema.compose(IntColumn, RoomId),
  name: Schema.String,
  type: RoomType,
  category_id: ParentColumn,
  position: IntColumn,
  user_limit: IntColumn,
  bitrate: IntColumn
})
type RoomRow = typeof RoomRow.Type

const OverrideRow = Schema.Struct({
  space_type: Schema.Literal("feed", "room"),
  space_id: IntColumn,
  target_type: Schema.Literal("role", "user"),
  target_id: Schema.compose(IntColumn, TargetId),
  allow_bits: PermissionSetFromString,
  deny_bits: PermissionSetFromString
})

const IdRow = Schema.Struct({ id: IntColumn })
const CountRow = Schema.Struct({ n: IntColumn })
const MaxRow = Schema.Struct({ n: Schema.NullOr(IntColumn) })

/** The highest position a default may take (the protocol's Position range). */
const MAX_POSITION = 1_000_000

/** A feed or room, and who an override is for. */
export interface SpaceRef {
  readonly type: SpaceType
  readonly id: number
}
export interface OverrideKey {
  readonly space: SpaceRef
  readonly target_type: OverrideTargetType
  readonly target_id: number
}

export interface FeedInsert {
  readonly name: string
  readonly type: FeedType
  readonly category_id: number | null
  readonly position: number
  readonly topic: string | null
  readonly nsfw: boolean
  readonly slowmode_seconds: number
}
export interface RoomInsert {
  readonly name: string
  readonly type: RoomType
  readonly category_id: number | null
  readonly position: number
  readonly user_limit: number
  readonly bitrate: number
}

type Columns = Record<string, string | number | null>

const toFeed = (row: FeedRow, overrides: ReadonlyArray<PermissionOverride>): Feed => ({
  feed_id: row.id,
  name: row.name,
  type: row.type,
  category_id: row.category_id,
  position: row.position,
  topic: row.topic,
  nsfw: row.nsfw,
  slowmode_seconds: row.slowmode_seconds,
  permission_overrides: overrides
})

const toRoom = (row: RoomRow, overrides: ReadonlyArray<PermissionOverride>): Room => ({
  room_id: row.id,
  name: row.name,
  type: row.type,
  category_id: row.category_id,
  position: row.position,
  user_limit: row.user_limit,
  bitrate: row.bitrate,
  permission_overrides: overrides
})

export const makeSpaceRepo = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient

  const countOf = (table: "categories" | "feeds" | "rooms") =>
    (table === "categories"
      ? sql`SELECT COUNT(*) AS n FROM categories`
      : table === "feeds"
      ? sql`SELECT COUNT(*) AS n FROM feeds`
      : sql`SELECT COUNT(*) AS n FROM rooms`).pipe(
      Effect.flatMap(decodeRows(CountRow)),
      Effect.map((rows) => rows[0]?.n ?? 0)
    )

  const nextOf = (rows: ReadonlyArray<unknown>) =>
    Effect.map(decodeRows(MaxRow)(rows), (r) => Math.min((r[0]?.n ?? -1) + 1, MAX_POSITION))

  /** One past the last position among categories, or among the feeds or rooms of one category. */
  const nextPosition = (table: "categories" | "feeds" | "rooms", categoryId: number | null) => {
    const parent = categoryId === null ? sql`category_id IS NULL` : sql`category_id = ${categoryId}`
    const query = table === "categories"
      ? sql`SELECT MAX(position) AS n FROM categories`
      : table === "feeds"
      ? sql`SELECT MAX(position) AS n FROM feeds WHERE ${parent}`
      : sql`SELECT MAX(position) AS n FROM rooms WHERE ${parent}`
    return Effect.flatMap(query, nextOf)
  }

  // --- overrides ---------------------------------------------------------------------------------

  const overrideRows = (space?: SpaceRef) =>
    (space === undefined
      ? sql`SELECT space_type, space_id, target_type, target_id, allow_bits, deny_bits FROM permission_overrides
          ORDER BY target_type, target_id`
      : sql`SELECT space_type, space_id, target_type, target_id, allow_bits, deny_bits FROM permission_overrides
          WHERE space_type = ${space.type} AND space_id = ${space.id} ORDER BY target_type, target_id`).pipe(
      Effect.flatMap(decodeRows(OverrideRow))
    )

  /** Overrides by `feed:5` / `room:2`, in (target_type, target_id) order. */
  const overridesBySpace = Effect.map(overrideRows(), (rows) => {
    const bySpace = new Map<string, Array<PermissionOverride>>()
    for (const r of rows) {
      const key = `${r.space_type}:${r.space_id}`
      const list = bySpace.get(key) ?? []
      list.push({ target_type: r.target_type, target_id: r.target_id, allow: r.allow_bits, deny: r.deny_bits })
      bySpace.set(key, list)
    }
    return bySpace
  })

  const overridesOf = (space: SpaceRef) =>
    Effect.map(overrideRows(space), (rows) =>
      rows.map((r): PermissionOverride => ({
        target_type: r.target_type,
        target_id: r.target_id,
        allow: r.allow_bits,
        deny: r.deny_bits
      })))

  const setOverride = (key: OverrideKey, allow: PermissionSet, deny: PermissionSet) =>
    sql`INSERT INTO permission_overrides ${sql.insert({
      space_type: key.space.type,
      space_id: key.space.id,
      target_type: key.target_type,
      target_id: key.target_id,
      allow_bits: allow.toString(),
      deny_bits: deny.toString()
    })} ON CONFLICT (space_type, space_id, target_type, target_id)
      DO UPDATE SET allow_bits = excluded.allow_bits, deny_bits = excluded.deny_bits`

  /** Removes one override; true when there was one. */
  const removeOverride = (key: OverrideKey) =>
    Effect.gen(function* () {
      const where = sql`space_type = ${key.space.type} AND space_id = ${key.space.id}
        AND target_type = ${key.target_type} AND target_id = ${key.target_id}`
      const found = yield* sql`SELECT COUNT(*) AS n FROM permission_overrides WHERE ${where}`.pipe(
        Effect.flatMap(decodeRows(CountRow))
      )
      if ((found[0]?.n ?? 0) === 0) return false
      yield* sql`DELETE FROM permission_overrides WHERE ${where}`
      return true
    })

  const removeOverridesOf = (space: SpaceRef) =>
    sql`DELETE FROM permission_overrides WHERE space_type = ${space.type} AND space_id = ${space.id}`

  // --- categories --------------------------------------------------------------------------------

  const categories = sql`SELECT id, name, position FROM categories ORDER BY position, id`.pipe(
    Effect.flatMap(decodeRows(CategoryRow)),
    Effect.map((rows) => rows.map((r): Category => ({ category_id: r.id, name: r.name, position: r.position })))
  )

  const findCategory = (id: number) =>
    sql`SELECT id, name, position FROM categories WHERE id = ${id}`.pipe(
      Effect.flatMap(decodeRows(CategoryRow)),
      Effect.map((rows) =>
        Option.map(Option.fromNullable(rows[0]), (r): Category => ({
          category_id: r.id,
          name: r.name,
          position: r.position
        })))
    )

  const insertCategory = (input: { readonly name: string; readonly position: number }) =>
    sql`INSERT INTO categories ${sql.insert({ name: input.name, position: input.position, created_at: Date.now() })}
      RETURNING id`.pipe(Effect.flatMap(decodeRows(IdRow)), Effect.map((rows) => rows[0]!.id))

  const updateCategory = (id: number, set: Columns) =>
    Object.keys(set).length === 0 ? Effect.void : sql`UPDATE categories SET ${sql.update(set)} WHERE id = ${id}`

  const deleteCategory = (id: number) => sql`DELETE FROM categories WHERE id = ${id}`

  // --- feeds -------------------------------------------------------------------------------------

  const feedColumns = sql`id, name, type, category_id, position, topic, nsfw, slowmode_seconds`

  const feeds = Effect.gen(function* () {
    const rows = yield* sql`SELECT ${feedColumns} FROM feeds ORDER BY position, id`.pipe(
      Effect.flatMap(decodeRows(FeedRow))
    )
    const overrides = yield* overridesBySpace
    return rows.map((r) => toFeed(r, overrides.get(`feed:${r.id}`) ?? []))
  })

  const findFeed = (id: number) =>
    Effect.gen(function* () {
      const rows = yield* sql`SELECT ${feedColumns} FROM feeds WHERE id = ${id}`.pipe(
        Effect.flatMap(decodeRows(FeedRow))
      )
      const row = rows[0]
      if (row === undefined) return Option.none<Feed>()
      return Option.some(toFeed(row, yield* overridesOf({ type: "feed", id })))
    })

  /** Ids of the feeds in a category. */
  const feedsIn = (categoryId: number) =>
    sql`SELECT id FROM feeds WHERE category_id = ${categoryId} ORDER BY id`.pipe(
      Effect.flatMap(decodeRows(IdRow)),
      Effect.map((rows) => rows.map((r) => r.id))
    )

  const insertFeed = (input: FeedInsert) =>
    sql`INSERT INTO feeds ${sql.insert({
      name: input.name,
      type: input.type,
      category_id: input.category_id,
      position: input.position,
      topic: input.topic,
      nsfw: input.nsfw ? 1 : 0,
      slowmode_seconds: input.slowmode_seconds,
      created_at: Date.now()
    })} RETURNING id`.pipe(Effect.flatMap(decodeRows(IdRow)), Effect.map((rows) => rows[0]!.id))

  const updateFeed = (id: number, set: Columns) =>
    Object.keys(set).length === 0 ? Effect.void : sql`UPDATE feeds SET ${sql.update(set)} WHERE id = ${id}`

  // An invite that pointed at the feed stays valid: it just no longer opens a feed.
  const deleteFeed = (id: number) =>
    Effect.zipRight(sql`UPDATE invites SET feed_id = NULL WHERE feed_id = ${id}`, sql`DELETE FROM feeds WHERE id = ${id}`)

  // --- rooms -------------------------------------------------------------------------------------

  const roomColumns = sql`id, name, type, category_id, position, user_limit, bitrate`

  const rooms = Effect.gen(function* () {
    const rows = yield* sql`SELECT ${roomColumns} FROM rooms ORDER BY position, id`.pipe(
      Effect.flatMap(decodeRows(RoomRow))
    )
    const overrides = yield* overridesBySpace
    return rows.map((r) => toRoom(r, overrides.get(`room:${r.id}`) ?? []))
  })

  const findRoom = (id: number) =>
    Effect.gen(function* () {
      const rows = yield* sql`SELECT ${roomColumns} FROM rooms WHERE id = ${id}`.pipe(
        Effect.flatMap(decodeRows(RoomRow))
      )
      const row = rows[0]
      if (row === undefined) return Option.none<Room>()
      return Option.some(toRoom(row, yield* overridesOf({ type: "room", id })))
    })

  const roomsIn = (categoryId: number) =>
    sql`SELECT id FROM rooms WHERE category_id = ${categoryId} ORDER BY id`.pipe(
      Effect.flatMap(decodeRows(IdRow)),
      Effect.map((rows) => rows.map((r) => r.id))
    )

  const insertRoom = (input: RoomInsert) =>
    sql`INSERT INTO rooms ${sql.insert({
      name: input.name,
      type: input.type,
      category_id: input.category_id,
      position: input.position,
      user_limit: input.user_limit,
      bitrate: input.bitrate,
      created_at: Date.now()
    })} RETURNING id`.pipe(Effect.flatMap(decodeRows(IdRow)), Effect.map((rows) => rows[0]!.id))

  const updateRoom = (id: number, set: Columns) =>
    Object.keys(set).length === 0 ? Effect.void : sql`UPDATE rooms SET ${sql.update(set)} WHERE id = ${id}`

  const deleteRoom = (id: number) => sql`DELETE FROM rooms WHERE id = ${id}`

  /** Moves every feed and room of a category to the top level (what deleting it does to them). */
  const uncategorize = (categoryId: number) =>
    Effect.all([
      sql`UPDATE feeds SET category_id = NULL WHERE category_id = ${categoryId}`,
      sql`UPDATE rooms SET category_id = NULL WHERE category_id = ${categoryId}`
    ], { discard: true })

  return {
    countOf,
    nextPosition,
    overridesOf,
    setOverride,
    removeOverride,
    removeOverridesOf,
    categories,
    findCategory,
    insertCategory,
    updateCategory,
    deleteCategory,
    feeds,
    findFeed,
    feedsIn,
    insertFeed,
    updateFeed,
    deleteFeed,
    rooms,
    findRoom,
    roomsIn,
    insertRoom,
    updateRoom,
    deleteRoom,
    uncategorize
  } as const
})

export type SpaceRepo = Effect.Effect.Success<typeof makeSpaceRepo>
