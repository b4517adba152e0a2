// SQL of message search: one ranked page of the messages that match the query's words, in the given
// feeds, with the filters of reference API.md §6 "Search Messages". The index is SQLite FTS5 or a
// PostgreSQL tsvector (0004_search.ts); relevance is computed the same way on both, from the message
// alone (see `RELEVANCE`), so both databases answer alike and a cursor stays valid across pages.
import { SqlClient } from "@effect/sql"
import type { Fragment } from "@effect/sql/Statement"
import { Effect, Schema } from "effect"
import type { Snowflake } from "../../protocol/snowflake.js"
import { decodeRows, IntColumn } from "../../runtime/db/columns.js"
import { MessageRow } from "../feed/FeedRepo.js"
import { fts5Match, type Term, tsquery } from "./terms.js"

/** A message row as the Feed's repo reads it, plus its relevance. */
const HitRow = Schema.Struct({ ...MessageRow.fields, score: IntColumn })
export type HitRow = typeof HitRow.Type

export interface SearchFilters {
  /** Only these feeds (never empty: the caller passes the feeds the searcher may read). */
  readonly feedIds: ReadonlyArray<number>
  readonly authorId?: number | undefined
  /** created_at (Unix ms) below this */
  readonly createdBefore?: number | undefined
  /** created_at (Unix ms) at or above this */
  readonly createdFrom?: number | undefined
  readonly hasFile?: boolean | undefined
  readonly hasEmbed?: boolean | undefined
  readonly pinned?: boolean | undefined
}

/** Where a page ends: results rank by score (higher first), then id (newer first). */
export interface SearchPosition {
  readonly score: number
  readonly id: Snowflake
}

/**
 * Relevance, an integer: how many words of the message the query matched, per character of the
 * message (times 10^6; +20 so a one-word message does not outrank everything). It depends on the
 * message alone, unlike bm25 (which moves as other messages are written) or ts_rank (which has no
 * SQLite twin): the same on both databases, exact to compare, and a page boundary stays put.
 */
const SCALE = 1_000_000
const SMOOTHING = 20

export const makeSearchRepo = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient

  const filterClauses = (f: SearchFilters): Array<Fragment> => {
    const clauses = [sql.in("m.feed_id", f.feedIds)]
    if (f.authorId !== undefined) clauses.push(sql`m.author_id = ${f.authorId}`)
    if (f.createdBefore !== undefined) clauses.push(sql`m.created_at < ${f.createdBefore}`)
    if (f.createdFrom !== undefined) clauses.push(sql`m.created_at >= ${f.createdFrom}`)
    // Empty lists are stored as `[]` (the Feed's repo writes them with stringifyJson).
    if (f.hasFile !== undefined) clauses.push(f.hasFile ? sql`m.attachments <> '[]'` : sql`m.attachments = '[]'`)
    if (f.hasEmbed !== undefined) clauses.push(f.hasEmbed ? sql`m.embeds <> '[]'` : sql`m.embeds = '[]'`)
    if (f.pinned !== undefined) {
      const pinned = sql`EXISTS (SELECT 1 FROM pins p WHERE p.message_id = m.id)`
      clauses.push(f.pinned ? pinned : sql`NOT ${pinned}`)
    }
    return clauses
  }

  /** The matching messages with their score, filtered (the cursor and order come after). */
  const matches = (terms: ReadonlyArray<Term>, filters: Fragment) =>
    sql.onDialectOrElse({
      // Matched words: the positions of every lexeme a query word matches (a lexeme once, even if
      // two query words match it, as FTS5's highlight counts an instance once).
      pg: () => {
        const lexemeMatches = sql.or(terms.map((t) =>
          t.prefix ? sql`starts_with(v.lexeme, lower(${t.word}))` : sql`v.lexeme = lower(${t.word})`
        ))
        return sql`SELECT m.*, (
            SELECT COALESCE(SUM(cardinality(v.positions)), 0) FROM unnest(m.search_vector) AS v WHERE ${lexemeMatches}
          ) * ${sql.literal(String(SCALE))} / (length(m.body) + ${sql.literal(String(SMOOTHING))}) AS score
          FROM messages m
          WHERE m.search_vector @@ to_tsquery('simple', ${tsquery(terms)}) AND ${filters}`
      },
      // Matched words: highlight() inserts one marker before each matched word, so the length it
      // adds is their number (whatever the body itself contains).
      orElse: () =>
        sql`SELECT m.*, (
            (length(highlight(messages_fts, 0, char(1), '')) - length(m.body)) * ${sql.literal(String(SCALE))}
          ) / (length(m.body) + ${sql.literal(String(SMOOTHING))}) AS score
          FROM messages_fts JOIN messages m ON m.id = messages_fts.rowid
          WHERE messages_fts MATCH ${fts5Match(terms)} AND ${filters}`
    })

  /** At most `limit` matches after `after`, best first, ties newest first. `terms` is never empty. */
  const search = (
    terms: ReadonlyArray<Term>,
    filters: SearchFilters,
    after: SearchPosition | undefined,
    limit: number
  ) => {
    const afterClause = after === undefined
      ? sql`1 = 1`
      : sql`(s.score < ${after.score} OR (s.score = ${after.score} AND s.id < CAST(${after.id.toString()} AS BIGINT)))`
    return sql`SELECT CAST(s.id AS TEXT) AS id, s.feed_id, s.thread_id, s.author_id, s.body,
        CAST(s.reply_to AS TEXT) AS reply_to, s.mentions, s.embeds, s.attachments, s.components,
        s.created_at, s.edited_at, s.score
      FROM (${matches(terms, sql.and(filterClauses(filters)))}) s
      WHERE ${afterClause}
      ORDER BY s.score DESC, s.id DESC
      LIMIT ${limit}`.pipe(Effect.flatMap(decodeRows(HitRow)))
  }

  return { search } as const
})
