// A user changing their own password. Whoever else was signed in as them (a stolen token, a
// forgotten device) is signed out in the same transaction: a password change is how people take
// their account back.
import { SqlClient } from "@effect/sql"
import { Effect, Schema } from "effect"
import { AuthFailed } from "../../protocol/errors.js"
import { decodeRows } from "../db/columns.js"
import { dieOnStorageError } from "../db/storageErrors.js"
import { Passwords } from "./Passwords.js"
import { type Caller, Sessions } from "./Sessions.js"

const wrongPassword = () => new AuthFailed({ message: "The current password is wrong." })

export const changePassword = (caller: Caller, current: string, next: string) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const passwords = yield* Passwords
    const sessions = yield* Sessions
    const rows = yield* sql`SELECT password_hash FROM credentials WHERE user_id = ${caller.userId}`.pipe(
      Effect.flatMap(decodeRows(Schema.Struct({ password_hash: Schema.String })))
    )
    const stored = rows[0]?.password_hash
    if (stored === undefined || !(yield* passwords.verify(stored, current))) return yield* wrongPassword()
    const hash = yield* passwords.hash(next)
    const { revocation } = yield* sql.withTransaction(Effect.gen(function* () {
      // Only over the hash that was checked: of two changes at once, the second must prove the new password.
      const updated = yield* sql`UPDATE credentials SET password_hash = ${hash}, updated_at = ${Date.now()}
        WHERE user_id = ${caller.userId} AND password_hash = ${stored} RETURNING user_id`
      if (updated.length === 0) return yield* wrongPassword()
      return yield* sessions.end(caller.userId, { allBut: caller.sessionId })
    }))
    yield* sessions.announce(revocation)
  }).pipe(dieOnStorageError, Effect.withSpan("changePassword"))
