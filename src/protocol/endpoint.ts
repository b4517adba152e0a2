// A REST endpoint as data: method, path, and the schemas of everything that travels. The server binds
// handlers to these, and the SDK calls them, so neither ever re-declares a wire shape.
import { Schema } from "effect"
import type { PermissionName } from "./permissions.js"

export type Method = "GET" | "POST" | "PUT" | "PATCH" | "DELETE"

/**
 * Who may call. The server enforces it before the handler runs, so a route cannot forget its check:
 * - `public`: anyone, no authentication
 * - `account`: any signed-in account, member or not (its own profile, joining, logging out)
 * - `member`: a member of the community: not one who left, was kicked or is banned
 * - `{ permission }`: a member holding that server-level permission (seed 002 §7)
 * - `{ permission, space }`: a member holding it in the feed or room named by that path parameter
 */
export type Access =
  | "public"
  | "account"
  | "member"
  | { readonly permission: PermissionName; readonly space?: SpaceParam }

/** The path parameter naming the feed or room a space-level permission is checked in. */
export type SpaceParam = "feed_id" | "room_id"

type AnySchema = Schema.Schema.AnyNoContext

export interface Endpoint<
  Params extends AnySchema = AnySchema,
  Query extends AnySchema = AnySchema,
  Body extends AnySchema = AnySchema,
  Success extends AnySchema = AnySchema
> {
  readonly name: string
  readonly method: Method
  /** find-my-way style: `/api/v1/users/:user_id` */
  readonly path: string
  readonly access: Access
  readonly params: Params
  readonly query: Query
  readonly body: Body
  /** `Schema.Void` for 204 No Content */
  readonly success: Success
  readonly status: 200 | 201 | 204
}

export type ParamsOf<E extends Endpoint> = Schema.Schema.Type<E["params"]>
export type QueryOf<E extends Endpoint> = Schema.Schema.Type<E["query"]>
export type BodyOf<E extends Endpoint> = Schema.Schema.Type<E["body"]>
export type SuccessOf<E extends Endpoint> = Schema.Schema.Type<E["success"]>

export const NoParams = Schema.Struct({})
export const NoQuery = Schema.Struct({})
export const NoBody = Schema.Void

export const endpoint = <
  const Params extends AnySchema = typeof NoParams,
  const Query extends AnySchema = typeof NoQuery,
  const Body extends AnySchema = typeof NoBody,
  const Success extends AnySchema = typeof Schema.Void
>(spec: {
  readonly name: string
  readonly method: Method
  readonly path: string
  readonly access: Access
  readonly params?: Params
  readonly query?: Query
  readonly body?: Body
  readonly success?: Success
  readonly status?: 200 | 201 | 204
}): Endpoint<Params, Query, Body, Success> => ({
  name: spec.name,
  method: spec.method,
  path: spec.path,
  access: spec.access,
  params: (spec.params ?? NoParams) as Params,
  query: (spec.query ?? NoQuery) as Query,
  body: (spec.body ?? NoBody) as Body,
  success: (spec.success ?? Schema.Void) as Success,
  status: spec.status ?? (spec.success === undefined ? 204 : 200)
})

/** `/api/v1/users/:user_id` + `{ user_id: 7 }` -> `/api/v1/users/7` */
export const fillPath = (path: string, params: Record<string, unknown>): string =>
  path.replace(/:([a-z_]+)/g, (_, name: string) => encodeURIComponent(String(params[name])))
