// The Community entity (one instance): the single writer of server-wide state (accounts, members,
// roles, structure, invites, bans, limits, the audit log, reports) and the holder of the permission cache.
// HTTP handlers and the CLI call it through its client. Each group of its protocol lives in a folder.
import { Entity } from "@effect/cluster"
import { AccessRpcs } from "./access/rpcs.js"
import { AccountRpcs } from "./accounts/rpcs.js"
import { AuditRpcs } from "./audit/rpcs.js"
import { EmojiRpcs } from "./emoji/rpcs.js"
import { InviteRpcs } from "./invites/rpcs.js"
import { LimitRpcs } from "./limits/rpcs.js"
import { MemberRpcs } from "./members/rpcs.js"
import { ReportRpcs } from "./reports/rpcs.js"
import { RoleRpcs } from "./roles/rpcs.js"
import { SpaceRpcs } from "./spaces/rpcs.js"
import { SyncRpcs } from "./sync/rpcs.js"

export { Membership } from "./access/Membership.js"
export { AccountSummary } from "./accounts/rpcs.js"

/** The only instance's id: one server is one community. */
export const COMMUNITY_ID = "community"

export const Community = Entity.make("Community", [
  ...AccessRpcs,
  ...AccountRpcs,
  ...SpaceRpcs,
  ...RoleRpcs,
  ...MemberRpcs,
  ...InviteRpcs,
  ...LimitRpcs,
  ...AuditRpcs,
  ...SyncRpcs,
  ...EmojiRpcs,
  ...ReportRpcs
])
