import type { Entity } from "@effect/cluster"
import { Effect } from "effect"
import type { CommunityContext } from "../CommunityTx.js"
import type { LimitRpcs } from "./rpcs.js"

export const limitHandlers = (_ctx: CommunityContext) =>
  Effect.succeed({} satisfies Entity.HandlersFrom<(typeof LimitRpcs)[number]>)
