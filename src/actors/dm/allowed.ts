// Who may DM whom (seed 002 §12 "DM Moderation"), asked whenever `from` would start a conversation with
// `to`: opening a 1:1 DM, opening a group DM (for each recipient), adding someone to a group DM. It
// reads in the caller's transaction, so it needs that transaction's SqlClient.
//
// A block, whoever made it, refuses first (USER_BLOCKED): the blocker cannot reach back either, so a
// block is not lifted by the other side writing first. Then the recipient's dm-settings
// (DM_PERMISSION_DENIED). The settings judge new conversations only: a 1:1 DM that exists goes on, and
// is reopened, whatever they say now (a block is how one ends it), so changing them never cuts a
// conversation in the middle.
import { Effect } from "effect"
import { makeRelationshipRepo } from "../relationships/RelationshipRepo.js"
import { DmPermissionDenied, UserBlocked } from "../../protocol/errors.js"
import type { UserId } from "../../protocol/ids.js"

/** USER_BLOCKED when a block stands between the two, whoever made it. */
export const checkNotBlocked = (from: UserId, to: UserId) =>
  Effect.gen(function* () {
    const repo = yield* makeRelationshipRepo
    if (yield* repo.blockedEitherWay(from, to)) return yield* new UserBlocked()
  })

export const checkDmAllowed = (from: UserId, to: UserId) =>
  Effect.gen(function* () {
    yield* checkNotBlocked(from, to)
    const repo = yield* makeRelationshipRepo
    const setting = yield* repo.dmPermission(to)
    const allowed = setting === "everyone"
      ? true
      : setting === "friends_only"
      ? yield* repo.areFriends(from, to)
      : setting === "mutual_servers"
      ? yield* repo.bothMembers(from, to)
      : false
    if (!allowed) return yield* new DmPermissionDenied()
  })

/**
 * A 1:1 DM with a block between its two users is closed (seed 002 §12: "all existing DMs between them
 * are effectively closed"): frozen as it stood, both may still read it and hide it from their list, and
 * nothing in it changes (no message, edit, deletion, reaction or read receipt), so no event of it reaches
 * either side. A group DM stays open: it belongs to its other participants too.
 */
export const checkDmOpen = (dm: { readonly is_group: boolean; readonly participant_ids: ReadonlyArray<UserId> }) =>
  Effect.gen(function* () {
    if (dm.is_group || dm.participant_ids.length !== 2) return
    const repo = yield* makeRelationshipRepo
    const [a, b] = dm.participant_ids as readonly [UserId, UserId]
    if (yield* repo.blockedEitherWay(a, b)) return yield* new UserBlocked({ message: "A block between you closed this DM." })
  })
