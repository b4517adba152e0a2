import type { HttpRouter } from "@effect/platform"

export const spacesRoutes = <E, R>(router: HttpRouter.HttpRouter<E, R>) => router
