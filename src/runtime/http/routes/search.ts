// Message search across feeds. The route lets in members only; which feeds answer is the search's
// own question (src/actors/search), asked of the Community entity feed by feed.
import type { HttpRouter } from "@effect/platform"
import { Effect } from "effect"
import { searchMessages } from "../../../actors/search/MessageSearch.js"
import * as Messages from "../../../protocol/api/messages.js"
import { CurrentCaller, route } from "../route.js"

export const searchRoutes = <E, R>(router: HttpRouter.HttpRouter<E, R>) =>
  router.pipe(
    route(Messages.searchMessages, ({ query }) =>
      Effect.flatMap(CurrentCaller, (caller) => searchMessages(caller.userId, query)))
  )
