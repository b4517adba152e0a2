// SQL of the User entity: the profile columns of `users`.
import { SqlClient } from "@effect/sql"
import { Effect, Option, Schema } from "effect"
import type { ProfilePatch } from "../../protocol/api/users.js"
import { UserId } from "../../protocol/ids.js"
import { BoolColumn, decodeRows, IntColumn } from "../../runtime/db/columns.js"

const ProfileRow = Schema.Struct({
  user_id: Schema.compose(IntColumn, UserId),
  username: Schema.String,
  display_name: Schema.String,
  avatar: Schema.NullOr(Schema.String),
  bio: Schema.NullOr(Schema.String),
  is_bot: BoolColumn,
  created_at: IntColumn
})

export class UserRepo extends Effect.Service<UserRepo>()("vox/UserRepo", {
  effect: Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient

    const find = (userId: number) =>
      sql`SELECT id AS user_id, username, display_name, avatar, bio, is_bot, created_at FROM users WHERE id = ${userId}`.pipe(
        Effect.flatMap(decodeRows(ProfileRow)),
        Effect.map((rows) => Option.fromNullable(rows[0]))
      )

    const update = (userId: number, patch: ProfilePatch) => {
      const set: Record<string, string | number | null> = { updated_at: Date.now() }
      if (patch.display_name !== undefined) set.display_name = patch.display_name
      if (patch.avatar !== undefined) set.avatar = patch.avatar
      if (patch.bio !== undefined) set.bio = patch.bio
      return sql`UPDATE users SET ${sql.update(set)} WHERE id = ${userId}`
    }

    return { find, update } as const
  })
}) {}
