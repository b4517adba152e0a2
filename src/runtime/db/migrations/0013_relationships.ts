// Relationships between two users: blocks, friendships and friend requests, and each user's
// dm-settings (seed 002 §12). A friendship is one row per pair, lower user id first, so a request
// and its acceptance are the same row and two users cannot hold two. `relationship_pairs` exists to
// be locked: every change between two users first upserts their pair's row, which on PostgreSQL
// makes concurrent changes of the same pair (a block racing a friend request, two crossing requests)
// run one after the other; SQLite has one writer anyway.
import { SqlClient } from "@effect/sql"
import { Effect } from "effect"

export default Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient

  yield* sql`CREATE TABLE relationship_pairs (
    user_low BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    user_high BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    PRIMARY KEY (user_low, user_high)
  )`

  yield* sql`CREATE TABLE user_blocks (
    user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    target_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (user_id, target_id)
  )`
  // "who blocked me": a presence announcement leaves them out
  yield* sql`CREATE INDEX user_blocks_target ON user_blocks (target_id, user_id)`

  // accepted_at NULL: a request from requester_id, still pending.
  yield* sql`CREATE TABLE friendships (
    user_low BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    user_high BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    requester_id BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    accepted_at BIGINT,
    PRIMARY KEY (user_low, user_high)
  )`
  yield* sql`CREATE INDEX friendships_high ON friendships (user_high, user_low)`

  // No row: `everyone`, the default.
  yield* sql`CREATE TABLE dm_settings (
    user_id BIGINT PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    dm_permission TEXT NOT NULL,
    updated_at BIGINT NOT NULL
  )`
})
