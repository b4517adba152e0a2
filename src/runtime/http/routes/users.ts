import { HttpRouter } from "@effect/platform"
import { Effect } from "effect"
import { COMMUNITY_ID, Community, type Membership } from "../../../actors/community/Community.js"
import type { Profile } from "../../../actors/user/User.js"
import { User } from "../../../actors/user/User.js"
import * as UsersApi from "../../../protocol/api/users.js"
import type { UserId } from "../../../protocol/ids.js"
import { CurrentCaller, route } from "../route.js"

const toUser = (profile: Profile, member: Membership): UsersApi.User => ({
  user_id: profile.user_id,
  username: profile.username,
  display_name: profile.display_name,
  avatar: profile.avatar,
  bio: profile.bio,
  roles: member.roles,
  is_bot: profile.is_bot,
  created_at: new Date(profile.created_at).toISOString()
})

const toMe = (profile: Profile, member: Membership): UsersApi.Me => ({
  ...toUser(profile, member),
  permissions: member.permissions,
  owner: member.owner
})

const lookup = (userId: UserId) =>
  Effect.gen(function* () {
    const users = yield* User.client
    const community = (yield* Community.client)(COMMUNITY_ID)
    return yield* Effect.all([users(String(userId)).Get(), community.Member({ user_id: userId })])
  })

export const userRoutes = <E, R>(router: HttpRouter.HttpRouter<E, R>) =>
  router.pipe(
  route(UsersApi.getMe, () =>
    CurrentCaller.pipe(Effect.flatMap((caller) => lookup(caller.userId)), Effect.map(([p, m]) => toMe(p, m)))),
  route(UsersApi.updateMe, ({ body }) =>
    Effect.gen(function* () {
      const caller = yield* CurrentCaller
      const users = yield* User.client
      yield* users(String(caller.userId)).UpdateProfile({ patch: body })
      const [profile, member] = yield* lookup(caller.userId)
      return toMe(profile, member)
    })),
  route(UsersApi.getUser, ({ params }) =>
    lookup(params.user_id).pipe(Effect.map(([p, m]) => toUser(p, m))))
  )
