// Binds a protocol endpoint to its handler: authenticate, decode the path, apply the rate limit
// (../ratelimit/rules.ts), enforce the endpoint's access (membership, permission on the server or in
// a feed or room) before anything else is read, then decode query and body and encode the success,
// all with the endpoint's own schemas.
import { HttpRouter, HttpServerRequest, type HttpServerResponse } from "@effect/platform"
import { Context, Effect, Either, Schema } from "effect"
import { Access as AccessCheck } from "../../actors/community/access/Access.js"
import type { Membership } from "../../actors/community/access/Membership.js"
import type { Access, BodyOf, Endpoint, ParamsOf, QueryOf, SuccessOf } from "../../protocol/endpoint.js"
import type { ClientMeta } from "../auth/Accounts.js"
import { type Caller, Sessions } from "../auth/Sessions.js"
import { VoxConfig } from "../config/VoxConfig.js"
import { endpointLimits } from "../ratelimit/admission.js"
import { failureResponse, json, noContent } from "./respond.js"
import { clientMeta, closeIfUnread, credentialsFrom, decodePart, queryRecord, readJsonBody } from "./request.js"

/** The authenticated caller of an endpoint that is not public. */
export class CurrentCaller extends Context.Tag("vox/CurrentCaller")<CurrentCaller, Caller>() {}

/**
 * The caller's standing, for endpoints that need membership or a permission. `permissions` are
 * those of the feed or room the endpoint's access names, else the server-level ones.
 */
export class CurrentMember extends Context.Tag("vox/CurrentMember")<CurrentMember, Membership>() {}

export interface HandlerInput<E extends Endpoint> {
  readonly params: ParamsOf<E>
  readonly query: QueryOf<E>
  readonly body: BodyOf<E>
  readonly meta: ClientMeta
}

export type Handler<E extends Endpoint, Err, R> = (input: HandlerInput<E>) => Effect.Effect<SuccessOf<E>, Err, R>

/** The verdict on `access` for this caller (seed 002 §7, one function for all: ../../actors/community/access). */
const authorize = (access: Exclude<Access, "public" | "account">, caller: Caller, params: Record<string, unknown>) =>
  Effect.flatMap(AccessCheck, (check) => {
    if (access === "member") return check.authorize({ user_id: caller.userId })
    const spaceId = access.space === undefined ? undefined : params[access.space]
    return check.authorize({
      user_id: caller.userId,
      permission: access.permission,
      space: access.space === undefined || typeof spaceId !== "number"
        ? undefined
        : { type: access.space === "feed_id" ? "feed" : "room", id: spaceId }
    })
  })

/** A handler that builds its own response: for endpoints whose body is not JSON (a file's bytes). */
export type RawHandler<E extends Endpoint, Err, R> = (
  input: HandlerInput<E>
) => Effect.Effect<HttpServerResponse.HttpServerResponse, Err, R>

export const route = <E extends Endpoint, Err, R>(endpoint: E, handler: Handler<E, Err, R>) =>
  bind(endpoint, (input) =>
    Effect.flatMap(handler(input), (success) => {
      if (endpoint.status === 204) return Effect.succeed(noContent)
      // A success that does not fit its own schema is a bug in the handler: a defect.
      const wire = Schema.encodeEither(endpoint.success)(success)
      return Either.isRight(wire) ? Effect.succeed(json(endpoint.status, wire.right)) : Effect.die(wire.left)
    }))

/**
 * Binds an endpoint whose response is not JSON: authentication, access and decoding as in `route`,
 * then whatever response the handler builds.
 */
export const rawRoute = <E extends Endpoint, Err, R>(endpoint: E, handler: RawHandler<E, Err, R>) =>
  bind(endpoint, handler)

const bind = <E extends Endpoint, Err, R>(endpoint: E, handler: RawHandler<E, Err, R>) => {
  const limits = endpointLimits(endpoint)
  return HttpRouter.route(endpoint.method)(
    endpoint.path as HttpRouter.PathInput,
    // Every response, a failure too, reports the rate-limit bucket that judged the request.
    Effect.flatMap(limits, (admission) => Effect.gen(function* () {
      const request = yield* HttpServerRequest.HttpServerRequest
      const config = yield* VoxConfig
      const access = endpoint.access
      const meta = clientMeta(request)
      // The rate limit is keyed by the caller and the path (a feed's own bucket), so both are read
      // first; their failures are answered after it, so bad tokens and bad paths are limited too.
      const authenticated = yield* Effect.either(access === "public"
        ? Effect.succeed(undefined)
        : Effect.flatMap(credentialsFrom(request), (c) =>
          Effect.flatMap(Sessions, (sessions) => sessions.authenticate(c.token, c.kind))))
      const decoded = yield* Effect.either(decodePart(endpoint.params, yield* HttpRouter.params, "path", "ignore"))
      yield* admission.admit(
        { userId: Either.getOrUndefined(authenticated)?.userId, ip: meta.ip },
        Either.getOrUndefined(decoded) as Record<string, unknown> | undefined
      )
      const caller = yield* authenticated
      const params = yield* decoded
      // Access is settled before the query and body are read: a caller without it learns nothing more.
      const member = caller === undefined || access === "public" || access === "account"
        ? undefined
        : yield* authorize(access, caller, params as Record<string, unknown>)
      const query = yield* decodePart(endpoint.query, queryRecord(request), "query", "ignore")
      const body = endpoint.body === Schema.Void
        ? undefined
        : yield* decodePart(endpoint.body, yield* readJsonBody(request, config.http.maxBodyBytes), "body", "error")
      let run = admission.guard(body, handler({ params, query, body, meta }))
      if (member !== undefined) run = Effect.provideService(run, CurrentMember, member)
      if (caller !== undefined) run = Effect.provideService(run, CurrentCaller, caller)
      return yield* (run as Effect.Effect<HttpServerResponse.HttpServerResponse, Err, Exclude<R, CurrentCaller | CurrentMember>>)
    }).pipe(Effect.catchAllCause((cause) => Effect.zipRight(closeIfUnread, failureResponse(cause))), Effect.map(admission.stamp)))
  )
}
