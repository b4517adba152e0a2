// The send lane: `POST /api/v1/feeds/{feed_id}/messages`, the request a busy community makes most,
// answered straight from node:http when everything it depends on is already at hand, instead of
// through the router, an Effect per step and a cluster call. It runs the route's own steps, in the
// route's order, with the same functions: the session and the access check read synchronously
// (SyncReads, the exact access cache), the rate limit from the in-memory buckets, the body decoded
// with the endpoint's schema, and the send handed to the live Feed entity's group commit
// (LocalFeeds), which stays the feed's single writer.
//
// It declines, and the router takes the request as if the lane were not there, whenever a step would
// need more than a read: no session (or one to expire or touch), a standing the cache does not hold,
// a refusal of any kind, a feed entity not running here, a body not announced as JSON of a known
// length. Nothing is changed before the lane is sure to answer; the rate-limit take is its last check,
// and a refused take changes no bucket. So declining is always safe, and every answer the lane gives
// is the one the route would have given.
import { Cause, Context, Effect, Either, Exit, FiberId, Layer, Runtime, Schema } from "effect"
import type { IncomingMessage, ServerResponse } from "node:http"
import type { Membership } from "../../actors/community/access/Membership.js"
import { Access } from "../../actors/community/access/Access.js"
import { type LocalFeed, LocalFeeds } from "../../actors/feed/LocalFeeds.js"
import * as Messages from "../../protocol/api/messages.js"
import { type CodedError, errorBody, statusOf } from "../../protocol/errors.js"
import { stringifyJson } from "../../protocol/json.js"
import { Sessions } from "../auth/Sessions.js"
import { VoxConfig } from "../config/VoxConfig.js"
import { admissionBucket } from "../ratelimit/admission.js"
import { type RateLimitDecision, RateLimiter, rateLimitHeaders } from "../ratelimit/RateLimiter.js"
import { limitRuleOf, UNLIMITED } from "../ratelimit/rules.js"
import { baseHeaders, failureOf, logFailure } from "./respond.js"
import { credentialsOf, decodePartNow, isJsonType, jsonOf, textOf } from "./request.js"

const endpoint = Messages.sendMessage
const PATH = /^\/api\/v1\/feeds\/(\d{1,16})\/messages$/
const encodeSent = Schema.encodeEither(endpoint.success)

export interface SendLaneShape {
  /** Takes the request and answers it, returning true; or returns false and leaves it untouched. */
  readonly take: (request: IncomingMessage, response: ServerResponse) => boolean
  /** How many requests the lane has answered: what tests look at to know which way a request went. */
  readonly answered: () => number
}

export class SendLane extends Context.Tag("vox/http/SendLane")<SendLane, SendLaneShape>() {
  static readonly Live = Layer.effect(
    SendLane,
    Effect.gen(function* () {
      const config = yield* VoxConfig
      const sessions = yield* Sessions
      const access = yield* Access
      const limiter = yield* RateLimiter
      const feeds = yield* LocalFeeds
      const runtime = yield* Effect.runtime<never>()
      const rule = limitRuleOf(endpoint)
      const { authenticateNow } = sessions
      const { authorizeNow } = access
      const { takeNow } = limiter
      // Off where a step cannot be answered at once (PostgreSQL, a shared rate-limit store), and when
      // every request is to be logged (the router's access log).
      if (authenticateNow === undefined || authorizeNow === undefined || takeNow === undefined || rule === UNLIMITED || config.http.accessLog) {
        return { take: () => false, answered: () => 0 }
      }
      const maxBodyBytes = config.http.maxBodyBytes
      let answered = 0

      const write = (response: ServerResponse, status: number, body: unknown, decision: RateLimitDecision) => {
        const text = stringifyJson(body)
        response.writeHead(status, {
          ...baseHeaders,
          ...rateLimitHeaders(decision),
          "content-type": "application/json; charset=utf-8",
          "content-length": Buffer.byteLength(text)
        })
        response.end(text)
      }

      const refuse = (response: ServerResponse, error: CodedError, decision: RateLimitDecision) =>
        write(response, statusOf(error.code), errorBody(error), decision)

      /** The request, its checks passed, from its body on. */
      const send = (
        request: IncomingMessage,
        response: ServerResponse,
        member: Membership,
        decision: RateLimitDecision,
        feed: LocalFeed
      ) => {
        const chunks: Array<Buffer> = []
        request.on("data", (chunk: Buffer) => chunks.push(chunk))
        // A client that hangs up mid-body gets no answer, as from the router.
        request.on("error", () => {})
        request.on("end", () => {
          answered++
          const message = Either.flatMap(Either.flatMap(textOf(Buffer.concat(chunks)), jsonOf), (json) =>
            decodePartNow(endpoint.body, json, "body", "error"))
          if (Either.isLeft(message)) return refuse(response, message.left, decision)
          const item = { actor: member.user_id, permissions: member.permissions, where: null, message: message.right }
          const queued = feed.offer(item, (exit) => {
            if (Exit.isSuccess(exit)) {
              const wire = encodeSent(exit.value)
              if (Either.isRight(wire)) return write(response, endpoint.status, wire.right, decision)
              return answerFailure(response, Cause.die(wire.left), decision)
            }
            answerFailure(response, exit.cause, decision)
          })
          // The entity stopped between the check and now: nothing was queued, the client may retry.
          if (!queued) answerFailure(response, Cause.interrupt(FiberId.none), decision)
        })
      }

      const answerFailure = (response: ServerResponse, cause: Cause.Cause<unknown>, decision: RateLimitDecision) => {
        const { error, log } = failureOf(cause)
        if (log !== undefined) Runtime.runFork(runtime)(logFailure(log, cause))
        refuse(response, error, decision)
      }

      const take = (request: IncomingMessage, response: ServerResponse): boolean => {
        if (request.method !== "POST") return false
        const path = PATH.exec(request.url ?? "")
        if (path === null) return false
        const params = decodePartNow(endpoint.params, { feed_id: path[1] }, "path", "ignore")
        if (Either.isLeft(params)) return false
        const headers = request.headers
        // A body of a known length, within the limit, that says it is JSON: the router's checks of the
        // body's framing cannot fail on it.
        const length = Number(headers["content-length"])
        if (!isJsonType(headers["content-type"]) || headers["transfer-encoding"] !== undefined) return false
        if (!Number.isSafeInteger(length) || length > maxBodyBytes) return false
        const credentials = credentialsOf(headers["authorization"])
        if (Either.isLeft(credentials)) return false
        const caller = authenticateNow(credentials.right.token, credentials.right.kind)
        if (caller === undefined) return false
        const feedId = params.right.feed_id
        const feed = feeds.get(feedId)
        if (feed === undefined || !feed.fresh()) return false
        const verdict = authorizeNow({ user_id: caller.userId, permission: "SEND_MESSAGES", space: { type: "feed", id: feedId } })
        if (verdict === undefined || Either.isLeft(verdict)) return false
        const decision = takeNow(rule.category, admissionBucket(rule, { userId: caller.userId, ip: request.socket.remoteAddress ?? null }, params.right))
        if (!decision.allowed) return false
        send(request, response, verdict.right, decision, feed)
        return true
      }

      return { take, answered: () => answered }
    })
  )
}
