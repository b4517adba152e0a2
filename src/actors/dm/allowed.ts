// Who may DM whom. Until the relationships (dm-settings, blocks, friends) exist, everyone may.
import { Effect } from "effect"
import type { UserId } from "../../protocol/ids.js"

export const checkDmAllowed = (_from: UserId, _to: UserId) => Effect.void
