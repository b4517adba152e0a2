import type { HttpRouter } from "@effect/platform"

export const messagesRoutes = <E, R>(router: HttpRouter.HttpRouter<E, R>) => router
