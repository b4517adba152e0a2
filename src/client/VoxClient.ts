// The TypeScript SDK's HTTP side: calls any protocol endpoint with its own schemas, writes and reads
// JSON losslessly, and turns `{"error": {...}}` bodies back into the protocol's typed errors.
import { HttpClient, HttpClientRequest } from "@effect/platform"
import { Effect, Either, Schema } from "effect"
import * as AuthApi from "../protocol/api/auth.js"
import * as OpsApi from "../protocol/api/ops.js"
import * as ServerApi from "../protocol/api/server.js"
import * as UsersApi from "../protocol/api/users.js"
import { type BodyOf, type Endpoint, fillPath, type ParamsOf, type QueryOf, type SuccessOf } from "../protocol/endpoint.js"
import { ApiError, errorClassByCode, type ProtocolError } from "../protocol/errors.js"
import { parseJson, stringifyJson } from "../protocol/json.js"

/** The server could not be reached, or answered something that is not the protocol. */
export class VoxTransportError extends Schema.TaggedError<VoxTransportError>()("VoxTransportError", {
  message: Schema.String
}) {}

export type VoxCallError = ProtocolError | ApiError | VoxTransportError

/**
 * `login()` of an account with two-factor authentication: finish with POST /auth/login/2fa
 * (`AuthApi.loginTwoFactor`) and this ticket. `call(AuthApi.login)` returns the challenge as a value.
 */
export class SecondFactorRequired extends Schema.TaggedError<SecondFactorRequired>()("SecondFactorRequired", {
  mfa_ticket: Schema.String,
  available_methods: Schema.Array(AuthApi.MfaMethod)
}) {}

export interface CallInput<E extends Endpoint> {
  readonly params?: ParamsOf<E>
  readonly query?: QueryOf<E>
  readonly body?: BodyOf<E>
}


/** A typed error from an error body: the protocol class of its code, else an ApiError with the code. */
export const decodeErrorBody = (status: number, body: unknown): ProtocolError | ApiError => {
  const error = typeof body === "object" && body !== null && "error" in body ? body.error : undefined
  if (typeof error !== "object" || error === null || !("code" in error) || typeof error.code !== "string") {
    return new ApiError({ code: "UNKNOWN_ERROR", status, message: `HTTP ${status}`, extra: {} })
  }
  const { code, message, ...extra } = error as { code: string; message?: unknown } & Record<string, unknown>
  const text = typeof message === "string" ? message : `HTTP ${status}`
  const cls = errorClassByCode.get(code)
  if (cls !== undefined) {
    const decoded = Schema.decodeUnknownEither(cls as unknown as Schema.Schema<ProtocolError, unknown>)({
      ...extra,
      _tag: cls._tag,
      message: text
    })
    if (Either.isRight(decoded)) return decoded.right
  }
  return new ApiError({ code, status, message: text, extra })
}

export interface VoxClientOptions {
  /** e.g. `http://localhost:8080` */
  readonly baseUrl: string
  /** A `vox_sess_...` session token. */
  readonly token?: string | undefined
  /** `Bearer` for user sessions (default), `Bot` for bot tokens. */
  readonly scheme?: "Bearer" | "Bot" | undefined
}

export const makeVoxClient = (options: VoxClientOptions) =>
  Effect.map(HttpClient.HttpClient, (http) => buildClient(http, options))

const buildClient = (http: HttpClient.HttpClient, options: VoxClientOptions) => {
  const base = options.baseUrl.replace(/\/+$/, "")

  const call = <E extends Endpoint>(endpoint: E, input: CallInput<E> = {}): Effect.Effect<SuccessOf<E>, VoxCallError> =>
    Effect.gen(function* () {
      const params = input.params === undefined
        ? {}
        : yield* Schema.encode(endpoint.params)(input.params).pipe(Effect.orDie)
      const query = input.query === undefined
        ? {}
        : yield* Schema.encode(endpoint.query)(input.query).pipe(Effect.orDie)
      let request = HttpClientRequest.make(endpoint.method)(base + fillPath(endpoint.path, params as Record<string, unknown>)).pipe(
        HttpClientRequest.setUrlParams(query as Record<string, string>),
        HttpClientRequest.acceptJson
      )
      if (options.token !== undefined) {
        request = HttpClientRequest.setHeader(request, "authorization", `${options.scheme ?? "Bearer"} ${options.token}`)
      }
      if (input.body !== undefined) {
        const wire = yield* Schema.encode(endpoint.body)(input.body).pipe(Effect.orDie)
        request = HttpClientRequest.bodyText(request, stringifyJson(wire), "application/json")
      }
      const response = yield* http.execute(request).pipe(
        Effect.mapError((e) => new VoxTransportError({ message: e.message }))
      )
      const text = yield* response.text.pipe(Effect.mapError((e) => new VoxTransportError({ message: e.message })))
      const parsed = text === "" ? undefined : parseJson(text)
      if (parsed !== undefined && !parsed.ok) {
        return yield* new VoxTransportError({ message: `HTTP ${response.status}: the response is not JSON` })
      }
      const body = parsed?.value
      if (response.status >= 400) return yield* Effect.fail(decodeErrorBody(response.status, body))
      return yield* Schema.decodeUnknown(endpoint.success)(body).pipe(
        Effect.mapError((e) => new VoxTransportError({ message: `Unexpected response: ${e.message}` }))
      )
    }).pipe(Effect.scoped, Effect.withSpan(`VoxClient.${endpoint.name}`))

  return {
    baseUrl: base,
    token: options.token,
    call,
    /** The same client acting with another session token. */
    withToken: (token: string | undefined) => buildClient(http, { ...options, token }),
    health: () => call(OpsApi.health),
    ready: () => call(OpsApi.ready),
    gateway: () => call(OpsApi.gateway),
    register: (body: typeof AuthApi.RegisterRequest.Type) => call(AuthApi.register, { body }),
    /** A password login that yields a session, or fails with SecondFactorRequired. */
    login: (body: typeof AuthApi.LoginRequest.Type) =>
      Effect.flatMap(call(AuthApi.login, { body }), (result) =>
        AuthApi.isMfaChallenge(result)
          ? Effect.fail(new SecondFactorRequired({ mfa_ticket: result.mfa_ticket, available_methods: result.available_methods }))
          : Effect.succeed(result)),
    logout: () => call(AuthApi.logout),
    me: () => call(UsersApi.getMe),
    updateMe: (body: UsersApi.ProfilePatch) => call(UsersApi.updateMe, { body }),
    user: (userId: number) => call(UsersApi.getUser, { params: { user_id: userId as UsersApi.User["user_id"] } }),
    server: () => call(ServerApi.getServer),
    updateServer: (body: ServerApi.ServerPatch) => call(ServerApi.updateServer, { body })
  }
}

export type VoxClient = ReturnType<typeof buildClient>
