// Two-factor management of the caller's own account, and the second step of a password login.
import type { HttpRouter } from "@effect/platform"
import { Effect } from "effect"
import * as TwoFactorApi from "../../../protocol/api/twoFactor.js"
import { Accounts } from "../../auth/Accounts.js"
import { TwoFactor } from "../../auth/TwoFactor.js"
import { CurrentCaller, route } from "../route.js"

const caller = Effect.map(CurrentCaller, (c) => c.userId)

export const twoFactorRoutes = <E, R>(router: HttpRouter.HttpRouter<E, R>) =>
  router.pipe(
    route(TwoFactorApi.getTwoFactor, () =>
      Effect.flatMap(Effect.all([TwoFactor, caller]), ([twoFactor, userId]) => twoFactor.status(userId))),
    route(TwoFactorApi.beginTwoFactorSetup, ({ body }) =>
      Effect.flatMap(Effect.all([TwoFactor, caller]), ([twoFactor, userId]) => twoFactor.beginSetup(userId, body.method))),
    route(TwoFactorApi.confirmTwoFactorSetup, ({ body }) =>
      Effect.flatMap(Effect.all([TwoFactor, caller]), ([twoFactor, userId]) => twoFactor.confirmSetup(userId, body))),
    route(TwoFactorApi.removeTwoFactor, ({ body }) =>
      Effect.flatMap(Effect.all([TwoFactor, caller]), ([twoFactor, userId]) => twoFactor.removeTotp(userId, body.code))),
    route(TwoFactorApi.loginTwoFactor, ({ body, meta }) =>
      Effect.flatMap(Accounts, (accounts) => accounts.loginTwoFactor(body, meta)))
  )
