// Invites (create, list, delete, resolve without an account) and joining the community.
import type { HttpRouter } from "@effect/platform"
import { Effect, Either } from "effect"
import { COMMUNITY_ID, Community } from "../../../actors/community/Community.js"
import { InvitePosition } from "../../../actors/community/invites/rpcs.js"
import * as InvitesApi from "../../../protocol/api/invites.js"
import * as MembersApi from "../../../protocol/api/members.js"
import { InvalidBody } from "../../../protocol/errors.js"
import { decodeCursor } from "../../../protocol/pagination.js"
import { CurrentCaller, route } from "../route.js"

const community = Effect.map(Community.client, (client) => client(COMMUNITY_ID))

const DEFAULT_PAGE = 100

const positionOf = (cursor: string | undefined) =>
  cursor === undefined
    ? Effect.succeed(undefined)
    : Either.match(decodeCursor(InvitePosition, cursor), {
      onLeft: (message) => Effect.fail(new InvalidBody({ location: "query", message })),
      onRight: (position) => Effect.succeed(position)
    })

export const invitesRoutes = <E, R>(router: HttpRouter.HttpRouter<E, R>) =>
  router.pipe(
    route(InvitesApi.createInvite, ({ body }) =>
      Effect.gen(function* () {
        const caller = yield* CurrentCaller
        return yield* (yield* community).CreateInvite({ actor: caller.userId, invite: body })
      })),
    route(InvitesApi.listInvites, ({ query }) =>
      Effect.gen(function* () {
        const after = yield* positionOf(query.after)
        return yield* (yield* community).ListInvites({ after, limit: query.limit ?? DEFAULT_PAGE })
      })),
    route(InvitesApi.deleteInvite, ({ params }) =>
      Effect.gen(function* () {
        const caller = yield* CurrentCaller
        yield* (yield* community).DeleteInvite({ actor: caller.userId, code: params.code })
      })),
    route(InvitesApi.resolveInvite, ({ params }) => Effect.flatMap(community, (c) => c.ResolveInvite({ code: params.code }))),
    route(MembersApi.joinServer, ({ body }) =>
      Effect.gen(function* () {
        const caller = yield* CurrentCaller
        return yield* (yield* community).JoinServer({ user_id: caller.userId, invite_code: body?.invite_code })
      }))
  )
