// Which rate-limit category each REST endpoint draws from (seed 002 §11), in one table. An endpoint
// not named here is `auth` under /api/v1/auth/, `bulk` when it ends in /bulk-delete, else `general`.
import * as Auth from "../../protocol/api/auth.js"
import * as Dms from "../../protocol/api/dms.js"
import * as Files from "../../protocol/api/files.js"
import * as Keys from "../../protocol/api/keys.js"
import * as Messages from "../../protocol/api/messages.js"
import * as Ops from "../../protocol/api/ops.js"
import * as Relationships from "../../protocol/api/relationships.js"
import * as Threads from "../../protocol/api/threads.js"
import type { Endpoint } from "../../protocol/endpoint.js"
import type { RateLimitCategory } from "./quotas.js"

export interface LimitRule {
  readonly category: RateLimitCategory
  /** A path parameter that gives each of its values a bucket of its own (one per feed). */
  readonly per?: string | undefined
  /**
   * A body field naming an account: attempts that fail with AUTH_FAILED also draw from that
   * account's `loginFailures` bucket, whichever address they come from.
   */
  readonly failuresPerAccount?: string | undefined
}

/** Not limited, and no headers: probes a load balancer sends every few seconds. */
export const UNLIMITED = "unlimited" as const

const table: ReadonlyArray<readonly [Endpoint, LimitRule | typeof UNLIMITED]> = [
  [Ops.health, UNLIMITED],
  [Ops.ready, UNLIMITED],
  [Auth.login, { category: "auth", failuresPerAccount: "username" }],
  [Messages.sendMessage, { category: "messageSend", per: "feed_id" }],
  [Threads.sendThreadMessage, { category: "messageSend", per: "feed_id" }],
  [Messages.getHistory, { category: "history" }],
  [Threads.getThreadHistory, { category: "history" }],
  [Files.uploadFile, { category: "upload" }],
  [Files.uploadDmFile, { category: "upload" }],
  [Messages.searchMessages, { category: "search" }],
  [Dms.openDm, { category: "dmOpen" }],
  // per claimer and per user claimed from
  [Keys.claimPrekeys, { category: "keyClaim", per: "user_id" }],
  [Dms.sendDmMessage, { category: "dmMessages", per: "dm_id" }],
  [Dms.getDmHistory, { category: "history" }],
  // A friend request is the other way to reach a stranger: under friends_only it is the only one, so it
  // draws from the DM-open bucket rather than giving spam a second door.
  [Relationships.addFriend, { category: "dmOpen" }]
]

const byEndpoint = new Map(table.map(([e, rule]) => [`${e.method} ${e.path}`, rule]))

export const limitRuleOf = (endpoint: Pick<Endpoint, "method" | "path">): LimitRule | typeof UNLIMITED => {
  const listed = byEndpoint.get(`${endpoint.method} ${endpoint.path}`)
  if (listed !== undefined) return listed
  if (endpoint.path.startsWith("/api/v1/auth/")) return { category: "auth" }
  if (endpoint.path.endsWith("/bulk-delete")) return { category: "bulk" }
  return { category: "general" }
}
