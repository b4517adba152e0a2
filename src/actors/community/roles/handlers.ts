import type { Entity } from "@effect/cluster"
import { Effect } from "effect"
import type { CommunityContext } from "../CommunityTx.js"
import type { RoleRpcs } from "./rpcs.js"

export const roleHandlers = (_ctx: CommunityContext) =>
  Effect.succeed({} satisfies Entity.HandlersFrom<(typeof RoleRpcs)[number]>)
