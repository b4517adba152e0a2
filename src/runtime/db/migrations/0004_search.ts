// Full-text search over message bodies (issue 4 "Search"), kept current by the database itself so
// that every write path (send, edit, delete, bulk delete, cascades) updates the index in the same
// transaction without knowing it exists.
//
// Both databases split a body into words the same way: runs of letters and digits, case-folded, with
// no stemming, stop words or accent folding, so one query finds the same messages on either.
// - SQLite: an FTS5 table with external content (the body is stored once, in `messages`), kept in
//   step by triggers. `unicode61` with diacritics kept already splits at every non-alphanumeric
//   character.
// - PostgreSQL: a stored generated tsvector column with a GIN index. The 'simple' configuration
//   lowercases and does not stem; ASCII punctuation is turned into spaces first because the default
//   parser otherwise keeps `example.com`, `3.14` or `a/b` as single words where FTS5 sees two.
import { SqlClient } from "@effect/sql"
import { Effect } from "effect"

/** Every printable ASCII character that is neither a letter, a digit nor a space. */
const ASCII_PUNCTUATION = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"

const sqlString = (text: string) => `'${text.replaceAll("'", "''")}'`

/** The PostgreSQL expression a body is indexed by (IMMUTABLE, as a generated column requires). */
const PG_SEARCH_VECTOR = `to_tsvector('simple', translate(body, ${sqlString(ASCII_PUNCTUATION)}, ${
  sqlString(" ".repeat(ASCII_PUNCTUATION.length))
}))`

export default Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient

  yield* sql.onDialectOrElse({
    pg: () =>
      Effect.gen(function* () {
        yield* sql.unsafe(`ALTER TABLE messages ADD COLUMN search_vector tsvector
          GENERATED ALWAYS AS (${PG_SEARCH_VECTOR}) STORED`)
        yield* sql`CREATE INDEX messages_search ON messages USING GIN (search_vector)`
      }),
    orElse: () =>
      Effect.gen(function* () {
        // content_rowid is the snowflake: FTS5 rowids are signed 64-bit, and snowflakes stay below
        // 2^63 until 2094 (see 0003_messages.ts).
        yield* sql`CREATE VIRTUAL TABLE messages_fts USING fts5(
          body,
          content = 'messages',
          content_rowid = 'id',
          tokenize = 'unicode61 remove_diacritics 0'
        )`
        // An external-content index must be told the old body to remove: the triggers read it from
        // `old` before the row is gone or changed.
        yield* sql`CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages BEGIN
          INSERT INTO messages_fts (rowid, body) VALUES (new.id, new.body);
        END`
        yield* sql`CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages BEGIN
          INSERT INTO messages_fts (messages_fts, rowid, body) VALUES ('delete', old.id, old.body);
        END`
        yield* sql`CREATE TRIGGER messages_fts_update AFTER UPDATE OF id, body ON messages BEGIN
          INSERT INTO messages_fts (messages_fts, rowid, body) VALUES ('delete', old.id, old.body);
          INSERT INTO messages_fts (rowid, body) VALUES (new.id, new.body);
        END`
        // Messages stored before this migration.
        yield* sql`INSERT INTO messages_fts (messages_fts) VALUES ('rebuild')`
      })
  })
})
