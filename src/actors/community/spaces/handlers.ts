import type { Entity } from "@effect/cluster"
import { Effect } from "effect"
import type { CommunityContext } from "../CommunityTx.js"
import type { SpaceRpcs } from "./rpcs.js"

export const spaceHandlers = (_ctx: CommunityContext) =>
  Effect.succeed({} satisfies Entity.HandlersFrom<(typeof SpaceRpcs)[number]>)
