import type { HttpRouter } from "@effect/platform"

export const membersRoutes = <E, R>(router: HttpRouter.HttpRouter<E, R>) => router
