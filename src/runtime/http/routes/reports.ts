// Reports (seed 002 §12 "Client-Side Reporting"). Access is enforced by `route` (any account files a
// report; VIEW_REPORTS lists and resolves them); what the reporter could see, and what a resolution may
// do to whom, the Community entity judges.
import type { HttpRouter } from "@effect/platform"
import { Effect } from "effect"
import { COMMUNITY_ID, Community } from "../../../actors/community/Community.js"
import * as ReportsApi from "../../../protocol/api/reports.js"
import { CurrentCaller, route } from "../route.js"

const community = Effect.map(Community.client, (client) => client(COMMUNITY_ID))

export const reportsRoutes = <E, R>(router: HttpRouter.HttpRouter<E, R>) =>
  router.pipe(
    route(ReportsApi.createReport, ({ body }) =>
      Effect.gen(function* () {
        const caller = yield* CurrentCaller
        return yield* (yield* community).CreateReport({ reporter: caller.userId, report: body })
      })),
    route(ReportsApi.listReports, ({ query }) => Effect.flatMap(community, (c) => c.ListReports({ query }))),
    route(ReportsApi.resolveReport, ({ params, body }) =>
      Effect.gen(function* () {
        const caller = yield* CurrentCaller
        return yield* (yield* community).ResolveReport({ actor: caller.userId, report_id: params.report_id, resolution: body })
      }))
  )
