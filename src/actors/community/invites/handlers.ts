import type { Entity } from "@effect/cluster"
import { Effect } from "effect"
import type { CommunityContext } from "../CommunityTx.js"
import type { InviteRpcs } from "./rpcs.js"

export const inviteHandlers = (_ctx: CommunityContext) =>
  Effect.succeed({} satisfies Entity.HandlersFrom<(typeof InviteRpcs)[number]>)
