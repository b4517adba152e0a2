// Uploaded files: who put them in which feed, under what name, and what they are (images: their size
// in pixels, and whether a thumbnail is stored). The bytes are in the file store (src/runtime/files),
// keyed by the same server-issued id.
import { SqlClient } from "@effect/sql"
import { Effect } from "effect"

export default Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient

  yield* sql`CREATE TABLE files (
    id TEXT PRIMARY KEY,
    feed_id BIGINT NOT NULL,
    uploader_id BIGINT NOT NULL,
    name TEXT NOT NULL,
    mime TEXT NOT NULL,
    size BIGINT NOT NULL,
    sha256 TEXT NOT NULL,
    width INTEGER,
    height INTEGER,
    thumbnail INTEGER NOT NULL,
    created_at BIGINT NOT NULL
  )`
  yield* sql`CREATE INDEX files_feed ON files (feed_id, created_at)`
  yield* sql`CREATE INDEX files_uploader ON files (uploader_id, created_at)`
})
