import type { HttpRouter } from "@effect/platform"

export const auditRoutes = <E, R>(router: HttpRouter.HttpRouter<E, R>) => router
