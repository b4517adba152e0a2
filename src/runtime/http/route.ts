// Binds a protocol endpoint to its handler: decode path, query and body with the endpoint's schemas,
// authenticate when the endpoint needs a session, encode the success with the endpoint's schema.
import { HttpRouter, HttpServerRequest } from "@effect/platform"
import { Context, Effect, Schema } from "effect"
import type { BodyOf, Endpoint, ParamsOf, QueryOf, SuccessOf } from "../../protocol/endpoint.js"
import type { ClientMeta } from "../auth/Accounts.js"
import { type Caller, Sessions } from "../auth/Sessions.js"
import { VoxConfig } from "../config/VoxConfig.js"
import { failureResponse, json, noContent } from "./respond.js"
import { clientMeta, credentialsFrom, decodePart, queryRecord, readJsonBody } from "./request.js"

/** The authenticated caller of a session endpoint. */
export class CurrentCaller extends Context.Tag("vox/CurrentCaller")<CurrentCaller, Caller>() {}

export interface HandlerInput<E extends Endpoint> {
  readonly params: ParamsOf<E>
  readonly query: QueryOf<E>
  readonly body: BodyOf<E>
  readonly meta: ClientMeta
}

export type Handler<E extends Endpoint, Err, R> = (input: HandlerInput<E>) => Effect.Effect<SuccessOf<E>, Err, R>

export const route = <E extends Endpoint, Err, R>(endpoint: E, handler: Handler<E, Err, R>) =>
  HttpRouter.route(endpoint.method)(
    endpoint.path as HttpRouter.PathInput,
    Effect.gen(function* () {
      const request = yield* HttpServerRequest.HttpServerRequest
      const config = yield* VoxConfig
      const caller = endpoint.access === "session"
        ? yield* Effect.flatMap(credentialsFrom(request), (c) =>
          Effect.flatMap(Sessions, (sessions) => sessions.authenticate(c.token, c.kind)))
        : undefined
      const params = yield* decodePart(endpoint.params, yield* HttpRouter.params, "path", "ignore")
      const query = yield* decodePart(endpoint.query, queryRecord(request), "query", "ignore")
      const body = endpoint.body === Schema.Void
        ? undefined
        : yield* decodePart(endpoint.body, yield* readJsonBody(request, config.http.maxBodyBytes), "body", "error")
      const run = handler({ params, query, body, meta: clientMeta(request) })
      const result = caller === undefined ? run : Effect.provideService(run, CurrentCaller, caller)
      const success = yield* (result as Effect.Effect<SuccessOf<E>, Err, Exclude<R, CurrentCaller>>)
      if (endpoint.status === 204) return noContent
      const wire = yield* Schema.encode(endpoint.success)(success).pipe(Effect.orDie)
      return json(endpoint.status, wire)
    }).pipe(Effect.catchAllCause(failureResponse))
  )
