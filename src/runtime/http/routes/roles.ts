import type { HttpRouter } from "@effect/platform"

export const rolesRoutes = <E, R>(router: HttpRouter.HttpRouter<E, R>) => router
