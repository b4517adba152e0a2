// Behaviour of the Community entity. Writes run one at a time (the entity's mailbox), reads and
// permission checks are forked beside them and answered from the cache.
import { Effect } from "effect"
import { makeAccessCache } from "./access/AccessCache.js"
import { accessHandlers } from "./access/handlers.js"
import { accountHandlers } from "./accounts/handlers.js"
import { auditHandlers } from "./audit/handlers.js"
import { Community } from "./Community.js"
import { makeWrite } from "./CommunityTx.js"
import { emojiHandlers } from "./emoji/handlers.js"
import { inviteHandlers } from "./invites/handlers.js"
import { limitHandlers } from "./limits/handlers.js"
import { memberHandlers } from "./members/handlers.js"
import { reportHandlers } from "./reports/handlers.js"
import { roleHandlers } from "./roles/handlers.js"
import { spaceHandlers } from "./spaces/handlers.js"
import { syncHandlers } from "./sync/handlers.js"

export const CommunityLive = Community.toLayer(
  Effect.gen(function* () {
    const access = yield* makeAccessCache
    const write = yield* makeWrite(access)
    const ctx = { access, write }
    return Community.of({
      ...(yield* accessHandlers(ctx)),
      ...(yield* accountHandlers(ctx)),
      ...(yield* spaceHandlers(ctx)),
      ...(yield* roleHandlers(ctx)),
      ...(yield* memberHandlers(ctx)),
      ...(yield* inviteHandlers(ctx)),
      ...(yield* limitHandlers(ctx)),
      ...(yield* auditHandlers(ctx)),
      ...(yield* syncHandlers(ctx)),
      ...(yield* emojiHandlers(ctx)),
      ...(yield* reportHandlers(ctx))
    })
  })
)
