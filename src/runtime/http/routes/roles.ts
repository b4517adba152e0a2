// Roles and their assignment: the hierarchy and grant rules are the Community entity's, checked in the
// transaction that makes the change.
import type { HttpRouter } from "@effect/platform"
import { Effect } from "effect"
import { COMMUNITY_ID, Community } from "../../../actors/community/Community.js"
import * as RolesApi from "../../../protocol/api/roles.js"
import { CurrentCaller, route } from "../route.js"

const community = Effect.map(Community.client, (client) => client(COMMUNITY_ID))
const DEFAULT_LIMIT = 250

/** The entity and the caller, for a write: the caller is the audit entry's actor. */
const asCaller = Effect.all({ entity: community, caller: CurrentCaller })

export const rolesRoutes = <E, R>(router: HttpRouter.HttpRouter<E, R>) =>
  router.pipe(
    route(RolesApi.listRoles, ({ query }) =>
      Effect.flatMap(community, (c) => c.ListRoles({ limit: query.limit ?? DEFAULT_LIMIT, after: query.after }))),
    route(RolesApi.createRole, ({ body }) =>
      Effect.flatMap(asCaller, ({ caller, entity }) => entity.CreateRole({ actor: caller.userId, role: body }))),
    route(RolesApi.updateRole, ({ body, params }) =>
      Effect.flatMap(asCaller, ({ caller, entity }) =>
        entity.UpdateRole({ actor: caller.userId, role_id: params.role_id, patch: body }))),
    route(RolesApi.deleteRole, ({ params }) =>
      Effect.flatMap(asCaller, ({ caller, entity }) => entity.DeleteRole({ actor: caller.userId, role_id: params.role_id }))),
    route(RolesApi.assignRole, ({ params }) =>
      Effect.flatMap(asCaller, ({ caller, entity }) =>
        entity.AssignRole({ actor: caller.userId, user_id: params.user_id, role_id: params.role_id }))),
    route(RolesApi.revokeRole, ({ params }) =>
      Effect.flatMap(asCaller, ({ caller, entity }) =>
        entity.RevokeRole({ actor: caller.userId, user_id: params.user_id, role_id: params.role_id })))
  )
