import type { HttpRouter } from "@effect/platform"

export const invitesRoutes = <E, R>(router: HttpRouter.HttpRouter<E, R>) => router
