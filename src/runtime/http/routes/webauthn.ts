// Passwordless login with a WebAuthn key, and the caller's list of keys.
import type { HttpRouter } from "@effect/platform"
import { Effect } from "effect"
import * as WebAuthnApi from "../../../protocol/api/webauthn.js"
import { Accounts } from "../../auth/Accounts.js"
import { TwoFactor } from "../../auth/TwoFactor.js"
import { CurrentCaller, route } from "../route.js"

const caller = Effect.map(CurrentCaller, (c) => c.userId)

export const webauthnRoutes = <E, R>(router: HttpRouter.HttpRouter<E, R>) =>
  router.pipe(
    route(WebAuthnApi.webauthnChallenge, ({ body }) =>
      Effect.flatMap(TwoFactor, (twoFactor) => twoFactor.loginChallenge(body.username))),
    route(WebAuthnApi.webauthnLogin, ({ body, meta }) =>
      Effect.flatMap(Accounts, (accounts) => accounts.loginWebAuthn(body, meta))),
    route(WebAuthnApi.listWebAuthnCredentials, () =>
      Effect.flatMap(Effect.all([TwoFactor, caller]), ([twoFactor, userId]) => twoFactor.credentials(userId))),
    route(WebAuthnApi.deleteWebAuthnCredential, ({ params }) =>
      Effect.flatMap(Effect.all([TwoFactor, caller]), ([twoFactor, userId]) =>
        twoFactor.deleteCredential(userId, params.credential_id)))
  )
