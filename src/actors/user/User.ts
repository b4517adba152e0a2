// The User entity (one per user id): the single writer of a user's profile.
import { Entity } from "@effect/cluster"
import { Rpc } from "@effect/rpc"
import { Schema } from "effect"
import { ProfilePatch } from "../../protocol/api/users.js"
import { UserNotFound } from "../../protocol/errors.js"
import { UserId } from "../../protocol/ids.js"

export const Profile = Schema.Struct({
  user_id: UserId,
  username: Schema.String,
  display_name: Schema.String,
  avatar: Schema.NullOr(Schema.String),
  bio: Schema.NullOr(Schema.String),
  is_bot: Schema.Boolean,
  created_at: Schema.Number
})
export type Profile = typeof Profile.Type

export const User = Entity.make("User", [
  Rpc.make("Get", { success: Profile, error: UserNotFound }),
  Rpc.make("UpdateProfile", { payload: { patch: ProfilePatch }, success: Profile, error: UserNotFound })
])
