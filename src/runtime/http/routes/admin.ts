// Administration of other accounts: MANAGE_2FA is checked by the route, hierarchy by the reset.
import type { HttpRouter } from "@effect/platform"
import { Effect } from "effect"
import * as AdminApi from "../../../protocol/api/admin.js"
import { resetTwoFactor } from "../../auth/AdminReset.js"
import { CurrentMember, route } from "../route.js"

export const adminRoutes = <E, R>(router: HttpRouter.HttpRouter<E, R>) =>
  router.pipe(
    route(AdminApi.adminTwoFactorReset, ({ body }) =>
      Effect.flatMap(CurrentMember, (actor) => resetTwoFactor(actor, body.target_user_id, body.reason)))
  )
