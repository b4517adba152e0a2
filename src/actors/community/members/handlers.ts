import type { Entity } from "@effect/cluster"
import { Effect } from "effect"
import type { CommunityContext } from "../CommunityTx.js"
import type { MemberRpcs } from "./rpcs.js"

export const memberHandlers = (_ctx: CommunityContext) =>
  Effect.succeed({} satisfies Entity.HandlersFrom<(typeof MemberRpcs)[number]>)
