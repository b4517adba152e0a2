// SQL of the files table (migrations 0005, 0011, 0015). Times are milliseconds, like every other table.
// A file belongs to a feed or to a DM (exactly one of feed_id, dm_id), and a message of that place
// carries it as an id in its JSON `attachments` column (messages, or dm_messages for a DM). A message
// carrying a file is recorded in `message_id`: by the send that attaches it, in the send's own
// transaction (`claim`), and by the cleanup sweep when that message is gone and it finds another. Message ids are
// bound and read as decimal text (they exceed 2^53).
import { SqlClient } from "@effect/sql"
import { Effect, Option, Schema } from "effect"
import { FileId } from "../../protocol/api/files.js"
import { DmId, FeedId, UserId } from "../../protocol/ids.js"
import { snowflakeFromTime, SnowflakeFromString } from "../../protocol/snowflake.js"
import { BoolColumn, decodeRows, IntColumn } from "../db/columns.js"

const FileRow = Schema.Struct({
  id: FileId,
  feed_id: Schema.NullOr(Schema.compose(IntColumn, FeedId)),
  dm_id: Schema.NullOr(Schema.compose(IntColumn, DmId)),
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

const COLUMNS = "id, feed_id, dm_id, uploader_id, name, mime, size, sha256, width, height, thumbnail, created_at"

/** A file the sweep looks at. */
const SweptRow = Schema.Struct({
  id: FileId,
  feed_id: Schema.NullOr(Schema.compose(IntColumn, FeedId)),
  dm_id: Schema.NullOr(Schema.compose(IntColumn, DmId)),
  created_at: IntColumn,
  /** The carrier recorded when the sweep read the row. */
  message_id: Schema.NullOr(SnowflakeFromString)
})
export type SweptRow = typeof SweptRow.Type
const CarrierRow = Schema.Struct({ id: SnowflakeFromString })
const IdRow = Schema.Struct({ id: Schema.String })

/** Where files are uploaded to: a feed (threads included) or a DM. */
export type FileOwner = { readonly feed_id: FeedId } | { readonly dm_id: DmId }

/**
 * How long before its upload a message carrying a file may have been issued: only through the clocks of
 * two nodes disagreeing, so generously.
 */
const CLOCK_SLACK_MS = 60 * 60 * 1000

/** `LIKE` pattern (escape `\`) matching a JSON array that holds the id as one of its strings. */
const attachmentPattern = (id: FileId) => `%"${id.replace(/[\\%_]/g, (c) => `\\${c}`)}"%`

export const makeFileRepo = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient

  const insert = (row: FileRow) =>
    sql`INSERT INTO files (${sql.literal(COLUMNS)}) VALUES (${row.id}, ${row.feed_id}, ${row.dm_id}, ${row.uploader_id},
      ${row.name}, ${row.mime}, ${row.size}, ${row.sha256}, ${row.width}, ${row.height}, ${row.thumbnail ? 1 : 0},
      ${row.created_at})`.pipe(Effect.asVoid)

  const find = (id: FileId) =>
    sql`SELECT ${sql.literal(COLUMNS)} FROM files WHERE id = ${id}`.pipe(
      Effect.flatMap(decodeRows(FileRow)),
      Effect.map((rows) => Option.fromNullable(rows[0]))
    )

  const ofOwner = (owner: FileOwner) => ("feed_id" in owner ? sql`feed_id = ${owner.feed_id}` : sql`dm_id = ${owner.dm_id}`)

  /**
   * Claims files for a message being sent, in its transaction: records it as their carrier, and
   * returns the ids that are files uploaded to `owner` (the only ones a message there may carry).
   * Checking and claiming in one statement leaves the sweep no moment between them: a file the sweep
   * deleted is not returned, and a sweep that read a file as uncarried before the send commits finds
   * the row changed and keeps it (`removeUncarried`; on PostgreSQL its delete waits for this row).
   */
  const claim = (owner: FileOwner, ids: ReadonlyArray<string>, messageId: bigint) =>
    ids.length === 0
      ? Effect.succeed(new Set<string>())
      : sql`UPDATE files SET message_id = ${messageId.toString()} WHERE ${ofOwner(owner)} AND ${sql.in("id", ids)}
          RETURNING id`.pipe(
        Effect.flatMap(decodeRows(IdRow)),
        Effect.map((rows) => new Set(rows.map((r) => r.id)))
      )

  /** Gives back the files claimed for a message that was not stored after all. */
  const unclaim = (messageId: bigint) =>
    sql`UPDATE files SET message_id = NULL WHERE message_id = ${messageId.toString()}`.pipe(Effect.asVoid)

  /**
   * Files the sweep must decide on, in id order after `after`: those of feeds or DMs that no longer
   * exist, those no message was found carrying and uploaded before `cutoff`, and those whose message
   * is gone.
   */
  const sweepCandidates = (cutoff: number, after: string, limit: number) =>
    sql`SELECT f.id, f.feed_id, f.dm_id, f.created_at, CAST(f.message_id AS TEXT) AS message_id FROM files f
      WHERE f.id > ${after} AND (
        (f.message_id IS NULL AND f.created_at < ${cutoff})
        OR (f.message_id IS NOT NULL AND f.feed_id IS NOT NULL
          AND NOT EXISTS (SELECT 1 FROM messages m WHERE m.id = f.message_id))
        OR (f.message_id IS NOT NULL AND f.dm_id IS NOT NULL
          AND NOT EXISTS (SELECT 1 FROM dm_messages m WHERE m.id = f.message_id))
        OR (f.feed_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM feeds WHERE feeds.id = f.feed_id))
        OR (f.dm_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM dms WHERE dms.id = f.dm_id))
      )
      ORDER BY f.id LIMIT ${limit}`.pipe(Effect.flatMap(decodeRows(SweptRow)))

  /** Messages that can carry the file: in its feed (threads included) or DM, issued after its upload. */
  const carriers = (file: SweptRow) =>
    sql`FROM ${file.dm_id === null ? sql`messages m WHERE m.feed_id = ${file.feed_id}` : sql`dm_messages m WHERE m.dm_id = ${file.dm_id}`}
      AND m.id >= ${snowflakeFromTime(file.created_at - CLOCK_SLACK_MS).toString()}
      AND m.attachments LIKE ${attachmentPattern(file.id)} ESCAPE '\\'`

  /** A message carrying the file, if one still does. */
  const carrierOf = (file: SweptRow) =>
    sql`SELECT CAST(m.id AS TEXT) AS id ${carriers(file)} ORDER BY m.id LIMIT 1`.pipe(
      Effect.flatMap(decodeRows(CarrierRow)),
      Effect.map((rows) => Option.fromNullable(rows[0]?.id))
    )

  const markCarried = (id: FileId, messageId: bigint) =>
    sql`UPDATE files SET message_id = ${messageId.toString()} WHERE id = ${id}`.pipe(Effect.asVoid)

  /**
   * Deletes the file's row unless a message carries it by now: one statement, so a message sent since
   * `carrierOf` looked keeps it, and one whose send is still committing has claimed the row (`claim`)
   * and changed its carrier from the one read. True when the row was deleted.
   */
  const removeUncarried = (file: SweptRow) =>
    sql`DELETE FROM files WHERE id = ${file.id}
      AND message_id IS NOT DISTINCT FROM CAST(${file.message_id === null ? null : file.message_id.toString()} AS BIGINT)
      AND NOT EXISTS (SELECT 1 ${carriers(file)}) RETURNING id`.pipe(
      Effect.map((rows) => rows.length > 0)
    )

  return { insert, find, claim, unclaim, sweepCandidates, carrierOf, markCarried, removeUncarried }
})
