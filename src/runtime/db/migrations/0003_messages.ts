// Messages of feeds, their reactions and pins. Message ids are snowflakes (BIGINT, fit in a signed
// 64-bit integer until 2094); JSON columns hold mentions, embeds, attachment ids and components.
import { SqlClient } from "@effect/sql"
import { Effect } from "effect"

export default Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient

  yield* sql`CREATE TABLE messages (
    id BIGINT PRIMARY KEY,
    feed_id BIGINT NOT NULL,
    thread_id BIGINT,
    author_id BIGINT NOT NULL,
    body TEXT NOT NULL,
    reply_to BIGINT,
    mentions TEXT NOT NULL,
    embeds TEXT NOT NULL,
    attachments TEXT NOT NULL,
    components TEXT NOT NULL,
    nonce TEXT,
    created_at BIGINT NOT NULL,
    edited_at BIGINT
  )`
  yield* sql`CREATE INDEX messages_feed ON messages (feed_id, id)`
  yield* sql`CREATE INDEX messages_author ON messages (author_id, id)`
  // A retried send finds its first attempt by (author, nonce): DECISIONS.md "idempotent send".
  yield* sql`CREATE UNIQUE INDEX messages_nonce ON messages (author_id, nonce) WHERE nonce IS NOT NULL`

  yield* sql`CREATE TABLE reactions (
    message_id BIGINT NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
    emoji TEXT NOT NULL,
    user_id BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (message_id, emoji, user_id)
  )`

  yield* sql`CREATE TABLE pins (
    message_id BIGINT PRIMARY KEY REFERENCES messages(id) ON DELETE CASCADE,
    feed_id BIGINT NOT NULL,
    pinned_by BIGINT NOT NULL,
    pinned_at BIGINT NOT NULL
  )`
  yield* sql`CREATE INDEX pins_feed ON pins (feed_id, pinned_at)`
})
