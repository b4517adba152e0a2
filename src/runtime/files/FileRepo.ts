// SQL of the files table (migration 0005). Times are milliseconds, like every other table.
import { SqlClient } from "@effect/sql"
import { Effect, Option, Schema } from "effect"
import { FileId } from "../../protocol/api/files.js"
import { FeedId, UserId } from "../../protocol/ids.js"
import { BoolColumn, decodeRows, IntColumn } from "../db/columns.js"

const FileRow = Schema.Struct({
  id: FileId,
  feed_id: Schema.compose(IntColumn, FeedId),
  uploader_id: Schema.compose(IntColumn, UserId),
  name: Schema.String,
  mime: Schema.String,
  size: IntColumn,
  sha256: Schema.String,
  width: Schema.NullOr(IntColumn),
  height: Schema.NullOr(IntColumn),
  thumbnail: BoolColumn,
  created_at: IntColumn
})
export type FileRow = typeof FileRow.Type

const COLUMNS = "id, feed_id, uploader_id, name, mime, size, sha256, width, height, thumbnail, created_at"

export const makeFileRepo = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient

  const insert = (row: FileRow) =>
    sql`INSERT INTO files (${sql.literal(COLUMNS)}) VALUES (${row.id}, ${row.feed_id}, ${row.uploader_id},
      ${row.name}, ${row.mime}, ${row.size}, ${row.sha256}, ${row.width}, ${row.height}, ${row.thumbnail ? 1 : 0},
      ${row.created_at})`.pipe(Effect.asVoid)

  const find = (id: FileId) =>
    sql`SELECT ${sql.literal(COLUMNS)} FROM files WHERE id = ${id}`.pipe(
      Effect.flatMap(decodeRows(FileRow)),
      Effect.map((rows) => Option.fromNullable(rows[0]))
    )

  return { insert, find }
})
