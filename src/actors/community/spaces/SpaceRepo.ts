// SQL of the community's structure: categories, feeds, rooms and their permission overrides.
import { SqlClient } from "@effect/sql"
import { Effect, Option, Schema } from "effect"
import type {
  Category,
  FeedType,
  OverrideTargetType,
  PermissionOverride,
  RoomType,
  SpaceType
} from "../../../protocol/api/spaces.js"
import { CategoryId, TargetId } from "../../../protocol/ids.js"
import { type PermissionSet, PermissionSetFromString } from "../../../protocol/permissions.js"
import { decodeRows, IntColumn } from "../../../runtime/db/columns.js"
import type { Columns, CreateOf, SpaceKind, SpaceOf } from "./SpaceKind.js"

const CategoryRow = Schema.Struct({
  category_id: Schema.compose(IntColumn, CategoryId),
  name: Schema.String,
  position: IntColumn
})

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

/** A feed or room. */
export interface SpaceRef {
  readonly type: SpaceType
  readonly id: number
}
// A type literal, not an interface, so that it passes as audit metadata as it is.
/** One override's place: its feed or room, and the role or user it is for. */
export type OverrideTarget = {
  readonly space_type: SpaceType
  readonly space_id: number
  readonly target_type: OverrideTargetType
  readonly target_id: number
}

/** Where a new space goes, and what every kind has. */
export interface SpaceInsert {
  readonly name: string
  readonly type: FeedType | RoomType
  readonly category_id: number | null
  readonly position: number
}

export const makeSpaceRepo = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient

  const countOf = (table: "categories" | SpaceKind<SpaceType>["table"]) =>
    sql`SELECT COUNT(*) AS n FROM ${sql.literal(table)}`.pipe(
      Effect.flatMap(decodeRows(CountRow)),
      Effect.map((rows) => rows[0]?.n ?? 0)
    )

  const nextOf = (rows: ReadonlyArray<unknown>) =>
    Effect.map(decodeRows(MaxRow)(rows), (r) => Math.min((r[0]?.n ?? -1) + 1, MAX_POSITION))

  const nextCategoryPosition = Effect.flatMap(sql`SELECT MAX(position) AS n FROM categories`, nextOf)

  /** One past the last position among the feeds, or the rooms, of one category. */
  const nextSpacePosition = <T extends SpaceType>(kind: SpaceKind<T>, categoryId: number | null) => {
    const parent = categoryId === null ? sql`category_id IS NULL` : sql`category_id = ${categoryId}`
    return Effect.flatMap(sql`SELECT MAX(position) AS n FROM ${sql.literal(kind.table)} WHERE ${parent}`, nextOf)
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

  const setOverride = (target: OverrideTarget, allow: PermissionSet, deny: PermissionSet) =>
    sql`INSERT INTO permission_overrides ${sql.insert({
      space_type: target.space_type,
      space_id: target.space_id,
      target_type: target.target_type,
      target_id: target.target_id,
      allow_bits: allow.toString(),
      deny_bits: deny.toString()
    })} ON CONFLICT (space_type, space_id, target_type, target_id)
      DO UPDATE SET allow_bits = excluded.allow_bits, deny_bits = excluded.deny_bits`

  /** Removes one override; true when there was one. */
  const removeOverride = (target: OverrideTarget) =>
    Effect.gen(function* () {
      const where = sql`space_type = ${target.space_type} AND space_id = ${target.space_id}
        AND target_type = ${target.target_type} AND target_id = ${target.target_id}`
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

  const categories = sql`SELECT id AS category_id, name, position FROM categories ORDER BY position, id`.pipe(
    Effect.flatMap(decodeRows(CategoryRow))
  )

  const findCategory = (id: number) =>
    sql`SELECT id AS category_id, name, position FROM categories WHERE id = ${id}`.pipe(
      Effect.flatMap(decodeRows(CategoryRow)),
      Effect.map((rows): Option.Option<Category> => Option.fromNullable(rows[0]))
    )

  const insertCategory = (input: { readonly name: string; readonly position: number }) =>
    sql`INSERT INTO categories ${sql.insert({ name: input.name, position: input.position, created_at: Date.now() })}
      RETURNING id`.pipe(Effect.flatMap(decodeRows(IdRow)), Effect.map((rows) => rows[0]!.id))

  const updateCategory = (id: number, set: Columns) =>
    Object.keys(set).length === 0 ? Effect.void : sql`UPDATE categories SET ${sql.update(set)} WHERE id = ${id}`

  const deleteCategory = (id: number) => sql`DELETE FROM categories WHERE id = ${id}`

  // --- feeds and rooms ---------------------------------------------------------------------------

  const selectFrom = <T extends SpaceType>(kind: SpaceKind<T>) =>
    sql`SELECT ${sql.literal(kind.columns)} FROM ${sql.literal(kind.table)}`

  const spaces = <T extends SpaceType>(kind: SpaceKind<T>) =>
    Effect.gen(function* () {
      const rows = yield* Effect.flatMap(sql`${selectFrom(kind)} ORDER BY position, id`, kind.decode)
      const overrides = yield* overridesBySpace
      return rows.map((row) => kind.toWire(row, overrides.get(`${kind.type}:${kind.idOf(row)}`) ?? []))
    })

  const findSpace = <T extends SpaceType>(kind: SpaceKind<T>, id: number) =>
    Effect.gen(function* () {
      const rows = yield* Effect.flatMap(sql`${selectFrom(kind)} WHERE id = ${id}`, kind.decode)
      const row = rows[0]
      if (row === undefined) return Option.none<SpaceOf<T>>()
      return Option.some(kind.toWire(row, yield* overridesOf({ type: kind.type, id })))
    })

  /** Ids of the feeds, or the rooms, in a category. */
  const spaceIdsIn = <T extends SpaceType>(kind: SpaceKind<T>, categoryId: number) =>
    sql`SELECT id FROM ${sql.literal(kind.table)} WHERE category_id = ${categoryId} ORDER BY id`.pipe(
      Effect.flatMap(decodeRows(IdRow)),
      Effect.map((rows) => rows.map((r) => r.id))
    )

  const insertSpace = <T extends SpaceType>(kind: SpaceKind<T>, common: SpaceInsert, input: CreateOf<T>) =>
    sql`INSERT INTO ${sql.literal(kind.table)} ${sql.insert({
      ...common,
      ...kind.insertColumns(input),
      created_at: Date.now()
    })} RETURNING id`.pipe(Effect.flatMap(decodeRows(IdRow)), Effect.map((rows) => rows[0]!.id))

  const updateSpace = <T extends SpaceType>(kind: SpaceKind<T>, id: number, set: Columns) =>
    Object.keys(set).length === 0
      ? Effect.void
      : sql`UPDATE ${sql.literal(kind.table)} SET ${sql.update(set)} WHERE id = ${id}`

  const deleteSpace = <T extends SpaceType>(kind: SpaceKind<T>, id: number) =>
    Effect.gen(function* () {
      if (kind.type === "feed") {
        // An invite that pointed at the feed stays valid: it just no longer opens a feed (invites.feed_id
        // has no foreign key to do it).
        yield* sql`UPDATE invites SET feed_id = NULL WHERE feed_id = ${id}`
        // "Delete a feed and all its messages" (reference channels.md); reactions and pins cascade.
        yield* sql`DELETE FROM messages WHERE feed_id = ${id}`
      }
      yield* sql`DELETE FROM ${sql.literal(kind.table)} WHERE id = ${id}`
    })

  /** Moves every feed and room of a category to the top level (what deleting it does to them). */
  const uncategorize = (categoryId: number) =>
    Effect.all([
      sql`UPDATE feeds SET category_id = NULL WHERE category_id = ${categoryId}`,
      sql`UPDATE rooms SET category_id = NULL WHERE category_id = ${categoryId}`
    ], { discard: true })

  return {
    countOf,
    nextCategoryPosition,
    nextSpacePosition,
    overridesOf,
    setOverride,
    removeOverride,
    removeOverridesOf,
    categories,
    findCategory,
    insertCategory,
    updateCategory,
    deleteCategory,
    spaces,
    findSpace,
    spaceIdsIn,
    insertSpace,
    updateSpace,
    deleteSpace,
    uncategorize
  } as const
})

export type SpaceRepo = Effect.Effect.Success<typeof makeSpaceRepo>
