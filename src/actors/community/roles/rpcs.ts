// Roles and their assignment (reference API.md §6 "Roles"), with the hierarchy of hierarchy.ts.
import { Rpc } from "@effect/rpc"
import { Schema } from "effect"
import { Role, RoleCreate, RolePatch } from "../../../protocol/api/roles.js"
import {
  Forbidden,
  InvalidBody,
  LimitReached,
  RoleHierarchy,
  RoleNotFound,
  UserNotFound
} from "../../../protocol/errors.js"
import { RoleId, UserId } from "../../../protocol/ids.js"
import { Page } from "../../../protocol/pagination.js"

const Assignment = { actor: UserId, user_id: UserId, role_id: RoleId }

export const RoleRpcs = [
  /**
   * Roles in id order (@everyone, id 1, first). Id order rather than position order: positions change
   * under a client paging through, ids never do, so a page boundary cannot skip or repeat a role.
   */
  Rpc.make("ListRoles", {
    payload: { limit: Schema.Number, after: Schema.optional(Schema.String) },
    success: Page(Role),
    error: InvalidBody
  }),
  /** Below the actor's highest role, with permissions the actor holds (owner and administrators exempt). */
  Rpc.make("CreateRole", {
    payload: { actor: UserId, role: RoleCreate },
    success: Role,
    error: Schema.Union(Forbidden, RoleHierarchy, LimitReached)
  }),
  /** @everyone: only its permissions. Taking ADMINISTRATOR away must leave an administrator. */
  Rpc.make("UpdateRole", {
    payload: { actor: UserId, role_id: RoleId, patch: RolePatch },
    success: Role,
    error: Schema.Union(RoleNotFound, Forbidden, RoleHierarchy)
  }),
  Rpc.make("DeleteRole", {
    payload: { actor: UserId, role_id: RoleId },
    error: Schema.Union(RoleNotFound, Forbidden, RoleHierarchy)
  }),
  /** Idempotent: assigning a role the member holds changes nothing and emits nothing. */
  Rpc.make("AssignRole", {
    payload: Assignment,
    error: Schema.Union(UserNotFound, RoleNotFound, Forbidden, RoleHierarchy)
  }),
  /** Idempotent like AssignRole; the last administrator keeps their role. */
  Rpc.make("RevokeRole", {
    payload: Assignment,
    error: Schema.Union(UserNotFound, RoleNotFound, Forbidden, RoleHierarchy)
  })
] as const
