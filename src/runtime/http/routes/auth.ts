import { HttpRouter } from "@effect/platform"
import { Effect } from "effect"
import * as AuthApi from "../../../protocol/api/auth.js"
import { Accounts } from "../../auth/Accounts.js"
import { Sessions } from "../../auth/Sessions.js"
import { CurrentCaller, route } from "../route.js"

export const authRoutes = <E, R>(router: HttpRouter.HttpRouter<E, R>) =>
  router.pipe(
  route(AuthApi.register, ({ body, meta }) => Effect.flatMap(Accounts, (accounts) => accounts.register(body, meta))),
  route(AuthApi.login, ({ body, meta }) => Effect.flatMap(Accounts, (accounts) => accounts.login(body, meta))),
  route(AuthApi.logout, () =>
    Effect.gen(function* () {
      const sessions = yield* Sessions
      yield* sessions.revoke(yield* CurrentCaller)
    }))
  )
