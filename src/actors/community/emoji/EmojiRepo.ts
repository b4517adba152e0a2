// SQL of custom emoji and stickers (migration 0007): the same columns in two tables. Times are stored
// in milliseconds like every other table.
import { SqlClient } from "@effect/sql"
import { Effect, Option, Schema } from "effect"
import { FileId } from "../../../protocol/api/files.js"
import { UserId } from "../../../protocol/ids.js"
import { decodeRows, IntColumn } from "../../../runtime/db/columns.js"

export type ImageTable = "emoji" | "stickers"

const ImageRow = Schema.Struct({
  id: IntColumn,
  name: Schema.String,
  image_id: FileId,
  mime: Schema.String,
  size: IntColumn,
  creator_id: Schema.compose(IntColumn, UserId),
  created_at: IntColumn
})
export type ImageRow = typeof ImageRow.Type

const COLUMNS = "id, name, image_id, mime, size, creator_id, created_at"

const IdRow = Schema.Struct({ id: IntColumn })
const CountRow = Schema.Struct({ n: IntColumn })

/** The statements of one table. */
const tableRepo = (sql: SqlClient.SqlClient, table: ImageTable) => {
  const first = (rows: ReadonlyArray<ImageRow>) => Option.fromNullable(rows[0])

  const find = (id: number) =>
    sql`SELECT ${sql.literal(COLUMNS)} FROM ${sql(table)} WHERE id = ${id}`.pipe(
      Effect.flatMap(decodeRows(ImageRow)),
      Effect.map(first)
    )

  /** The one named `name`, ignoring case. */
  const findByName = (name: string) =>
    sql`SELECT ${sql.literal(COLUMNS)} FROM ${sql(table)} WHERE lower(name) = lower(${name})`.pipe(
      Effect.flatMap(decodeRows(ImageRow)),
      Effect.map(first)
    )

  /** In id order after `after` (0: from the start), at most `limit`. */
  const page = (after: number, limit: number) =>
    sql`SELECT ${sql.literal(COLUMNS)} FROM ${sql(table)} WHERE id > ${after} ORDER BY id LIMIT ${limit}`.pipe(
      Effect.flatMap(decodeRows(ImageRow))
    )

  const count = sql`SELECT COUNT(*) AS n FROM ${sql(table)}`.pipe(
    Effect.flatMap(decodeRows(CountRow)),
    Effect.map((rows) => rows[0]?.n ?? 0)
  )

  const insert = (row: Omit<ImageRow, "id">) =>
    sql`INSERT INTO ${sql(table)} ${sql.insert({ ...row })} RETURNING id`.pipe(
      Effect.flatMap(decodeRows(IdRow)),
      Effect.flatMap((rows) =>
        rows[0] === undefined ? Effect.dieMessage(`INSERT INTO ${table} returned no id`) : Effect.succeed({ ...row, id: rows[0].id })
      )
    )

  const rename = (id: number, name: string) => sql`UPDATE ${sql(table)} SET name = ${name} WHERE id = ${id}`

  const remove = (id: number) => sql`DELETE FROM ${sql(table)} WHERE id = ${id}`

  return { find, findByName, page, count, insert, rename, remove } as const
}

export type TableRepo = ReturnType<typeof tableRepo>

export const makeEmojiRepo = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  return { emoji: tableRepo(sql, "emoji"), stickers: tableRepo(sql, "stickers") } as const
})
