// The caller's sessions and password (src/protocol/api/sessions.ts).
import type { HttpRouter } from "@effect/platform"
import { Effect } from "effect"
import * as SessionsApi from "../../../protocol/api/sessions.js"
import { changePassword } from "../../auth/PasswordChange.js"
import { Sessions } from "../../auth/Sessions.js"
import { CurrentCaller, route } from "../route.js"

const iso = (ms: number) => new Date(ms).toISOString()

export const sessionsRoutes = <E, R>(router: HttpRouter.HttpRouter<E, R>) =>
  router.pipe(
    route(SessionsApi.listSessions, () =>
      Effect.gen(function* () {
        const caller = yield* CurrentCaller
        const rows = yield* Effect.flatMap(Sessions, (sessions) => sessions.list(caller.userId))
        return {
          sessions: rows.map((row) => ({
            session_id: row.id,
            current: row.id === caller.sessionId,
            user_agent: row.user_agent,
            ip: row.ip,
            created_at: iso(row.created_at),
            last_used_at: iso(row.last_used_at),
            expires_at: iso(row.expires_at)
          }))
        }
      })),
    route(SessionsApi.revokeSession, ({ params }) =>
      Effect.gen(function* () {
        const caller = yield* CurrentCaller
        yield* Effect.flatMap(Sessions, (sessions) => sessions.revokeOne(caller.userId, params.session_id))
      })),
    route(SessionsApi.revokeOtherSessions, () =>
      Effect.gen(function* () {
        const caller = yield* CurrentCaller
        return { revoked: yield* Effect.flatMap(Sessions, (sessions) => sessions.revokeOthers(caller)) }
      })),
    route(SessionsApi.changePassword, ({ body }) =>
      Effect.flatMap(CurrentCaller, (caller) => changePassword(caller, body.current_password, body.new_password)))
  )
