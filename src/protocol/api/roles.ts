// Roles and their assignment: reference API.md §6 "Roles". A higher `position` means more authority
// (reference database.md); @everyone sits at 0 and every member has it.
import { Schema } from "effect"
import { endpoint } from "../endpoint.js"
import { idFromString, RoleId, UserId } from "../ids.js"
import { PageQuery, Page } from "../pagination.js"
import { PermissionSet } from "../permissions.js"
import { Name, Position } from "./fields.js"

export const EVERYONE_ROLE_NAME = "@everyone"

const Color = Schema.Number.pipe(Schema.int(), Schema.between(0, 0xffffff, {
  message: () => "color is an RGB value between 0 and 16777215"
}))

export const Role = Schema.Struct({
  role_id: RoleId,
  name: Schema.String,
  color: Schema.NullOr(Schema.Number),
  permissions: PermissionSet,
  position: Schema.Number,
  mentionable: Schema.Boolean,
  hoist: Schema.Boolean
})
export type Role = typeof Role.Type

const RoleName = Name("Role").pipe(
  Schema.filter((s) => s.trim() !== EVERYONE_ROLE_NAME, { message: () => "@everyone is reserved" })
)
/** Positions of created roles start at 1: 0 belongs to @everyone. */
const RolePosition = Position.pipe(Schema.greaterThanOrEqualTo(1, { message: () => "Role positions start at 1" }))

export const RoleCreate = Schema.Struct({
  name: RoleName,
  color: Schema.optional(Schema.NullOr(Color)),
  permissions: Schema.optional(PermissionSet),
  position: Schema.optional(RolePosition),
  mentionable: Schema.optional(Schema.Boolean),
  hoist: Schema.optional(Schema.Boolean)
})
export type RoleCreate = typeof RoleCreate.Type

export const RolePatch = Schema.partial(RoleCreate)
export type RolePatch = typeof RolePatch.Type

const RoleParams = Schema.Struct({ role_id: idFromString(RoleId) })
const AssignParams = Schema.Struct({ user_id: idFromString(UserId), role_id: idFromString(RoleId) })

export const listRoles = endpoint({
  name: "listRoles",
  method: "GET",
  path: "/api/v1/roles",
  access: "member",
  query: PageQuery(250),
  success: Page(Role)
})

export const createRole = endpoint({
  name: "createRole",
  method: "POST",
  path: "/api/v1/roles",
  access: { permission: "MANAGE_ROLES" },
  body: RoleCreate,
  success: Role,
  status: 201
})

export const updateRole = endpoint({
  name: "updateRole",
  method: "PATCH",
  path: "/api/v1/roles/:role_id",
  access: { permission: "MANAGE_ROLES" },
  params: RoleParams,
  body: RolePatch,
  success: Role
})

export const deleteRole = endpoint({
  name: "deleteRole",
  method: "DELETE",
  path: "/api/v1/roles/:role_id",
  access: { permission: "MANAGE_ROLES" },
  params: RoleParams
})

export const assignRole = endpoint({
  name: "assignRole",
  method: "PUT",
  path: "/api/v1/members/:user_id/roles/:role_id",
  access: { permission: "MANAGE_ROLES" },
  params: AssignParams
})

export const revokeRole = endpoint({
  name: "revokeRole",
  method: "DELETE",
  path: "/api/v1/members/:user_id/roles/:role_id",
  access: { permission: "MANAGE_ROLES" },
  params: AssignParams
})
