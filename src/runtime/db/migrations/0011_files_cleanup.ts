// The message found carrying each file, so the cleanup sweep (src/runtime/files/Cleanup.ts) looks for a
// file's message once rather than at every pass: NULL until a sweep finds it (or for a file no
// message carries yet), and looked for again when that message is deleted.
import { SqlClient } from "@effect/sql"
import { Effect } from "effect"

export default Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient

  yield* sql`ALTER TABLE files ADD COLUMN message_id BIGINT`
  yield* sql`CREATE INDEX files_unattached ON files (created_at) WHERE message_id IS NULL`
  yield* sql`CREATE INDEX files_message ON files (message_id) WHERE message_id IS NOT NULL`
})
