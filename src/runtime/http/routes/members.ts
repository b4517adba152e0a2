// Members and bans (joining is in invites.ts). Access is enforced by `route`; the entity applies the
// hierarchy and the owner and last-administrator rules.
import type { HttpRouter } from "@effect/platform"
import { Effect, Either, Schema } from "effect"
import { COMMUNITY_ID, Community } from "../../../actors/community/Community.js"
import * as MembersApi from "../../../protocol/api/members.js"
import { InvalidBody } from "../../../protocol/errors.js"
import { decodeCursor } from "../../../protocol/pagination.js"
import { CurrentCaller, route } from "../route.js"

const community = Effect.map(Community.client, (client) => client(COMMUNITY_ID))

const DEFAULT_LIMIT = 100

const Cursor = Schema.Struct({ id: Schema.Number.pipe(Schema.int(), Schema.nonNegative()) })

/** `?limit=&after=` as the entity takes it: the user id to start after (0 for the first page). */
const pageQuery = (query: { readonly limit?: number | undefined; readonly after?: string | undefined }) =>
  Effect.gen(function* () {
    const limit = query.limit ?? DEFAULT_LIMIT
    if (query.after === undefined) return { after: 0, limit }
    const cursor = decodeCursor(Cursor, query.after)
    if (Either.isLeft(cursor)) return yield* new InvalidBody({ location: "query", message: "Invalid cursor" })
    return { after: cursor.right.id, limit }
  })

export const membersRoutes = <E, R>(router: HttpRouter.HttpRouter<E, R>) =>
  router.pipe(
    route(MembersApi.listMembers, ({ query }) =>
      Effect.gen(function* () {
        return yield* (yield* community).ListMembers(yield* pageQuery(query))
      })),
    route(MembersApi.getMember, ({ params }) => Effect.flatMap(community, (c) => c.GetMember({ user_id: params.user_id }))),
    route(MembersApi.leaveServer, () =>
      Effect.gen(function* () {
        const caller = yield* CurrentCaller
        yield* (yield* community).LeaveServer({ actor: caller.userId })
      })),
    route(MembersApi.updateOwnMember, ({ body }) =>
      Effect.gen(function* () {
        const caller = yield* CurrentCaller
        return yield* (yield* community).SetNickname({ actor: caller.userId, user_id: caller.userId, nickname: body.nickname })
      })),
    route(MembersApi.updateMember, ({ params, body }) =>
      Effect.gen(function* () {
        const caller = yield* CurrentCaller
        return yield* (yield* community).SetNickname({ actor: caller.userId, user_id: params.user_id, nickname: body.nickname })
      })),
    route(MembersApi.kickMember, ({ params, body }) =>
      Effect.gen(function* () {
        const caller = yield* CurrentCaller
        yield* (yield* community).KickMember({ actor: caller.userId, user_id: params.user_id, reason: body?.reason })
      })),
    route(MembersApi.banMember, ({ params, body }) =>
      Effect.gen(function* () {
        const caller = yield* CurrentCaller
        yield* (yield* community).BanMember({
          actor: caller.userId,
          user_id: params.user_id,
          reason: body?.reason,
          delete_msg_days: body?.delete_msg_days ?? 0
        })
      })),
    route(MembersApi.unbanMember, ({ params }) =>
      Effect.gen(function* () {
        const caller = yield* CurrentCaller
        yield* (yield* community).UnbanMember({ actor: caller.userId, user_id: params.user_id })
      })),
    route(MembersApi.listBans, ({ query }) =>
      Effect.gen(function* () {
        return yield* (yield* community).ListBans(yield* pageQuery(query))
      }))
  )
