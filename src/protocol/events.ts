// Gateway events (seed 002 §4 "Dispatch Events"): each has an UPPER_SNAKE name, a payload schema, and
// travels on the event bus with the audience that may see it.
import { Schema } from "effect"
import { RoleId, UserId } from "./ids.js"
import { PermissionSet } from "./permissions.js"
import { ServerInfo } from "./api/server.js"
import { User } from "./api/users.js"

/** Who receives an event. The gateway resolves it to sessions; nobody outside it sees the event. */
export const Audience = Schema.Union(
  /** every member of the community */
  Schema.TaggedStruct("server", {}),
  /** exactly these users */
  Schema.TaggedStruct("users", { user_ids: Schema.Array(UserId) }),
  /** members holding this server-level permission (e.g. VIEW_AUDIT_LOG) */
  Schema.TaggedStruct("permission", { permission: PermissionSet })
)
export type Audience = typeof Audience.Type

export interface EventDef<Name extends string, S extends Schema.Schema.AnyNoContext> {
  readonly name: Name
  readonly schema: S
}

const event = <const Name extends string, S extends Schema.Schema.AnyNoContext>(name: Name, schema: S): EventDef<Name, S> => ({
  name,
  schema
})

export const MemberJoin = event(
  "MEMBER_JOIN",
  Schema.Struct({ user_id: UserId, display_name: Schema.String, roles: Schema.Array(RoleId), joined_at: Schema.String })
)

export const UserUpdate = event("USER_UPDATE", User)

export const ServerUpdate = event("SERVER_UPDATE", ServerInfo)
