// Direct messages. Opening and listing go to the DM directory; everything about one DM goes to its own
// entity, which refuses (403) a caller who is not a participant: DM endpoints take any signed-in
// account, and the participant check is the entity's, not the route's.
import type { HttpRouter } from "@effect/platform"
import { Effect, Schema } from "effect"
import { COMMUNITY_ID, Community } from "../../../actors/community/Community.js"
import { Dm } from "../../../actors/dm/Dm.js"
import { DmDirectory } from "../../../actors/dm/DmDirectory.js"
import * as Dms from "../../../protocol/api/dms.js"
import { parseEmojiRef } from "../../../protocol/api/emoji.js"
import { EmojiNotFound, InvalidBody } from "../../../protocol/errors.js"
import type { DmId } from "../../../protocol/ids.js"
import { json } from "../respond.js"
import { CurrentCaller, rawRoute, route } from "../route.js"

const dm = (dmId: DmId) => Effect.map(Dm.client, (client) => client(String(dmId)))

const actor = Effect.map(CurrentCaller, (c) => c.userId)

const encodeDm = Schema.encode(Dms.Dm)

/**
 * A reaction's emoji: unicode, this server's custom emoji (which must exist), or another server's.
 * DMs are outside the community's permissions, so USE_EXTERNAL_EMOJI does not apply here.
 */
const checkDmReactionEmoji = (emoji: string) =>
  Effect.gen(function* () {
    const ref = parseEmojiRef(emoji)
    if (ref._tag === "malformed") {
      return yield* new InvalidBody({ message: "A custom emoji is written name:id, or name:id@domain for another server's.", location: "path" })
    }
    if (ref._tag === "custom") {
      const found = yield* (yield* Community.client)(COMMUNITY_ID).GetEmoji({ emoji_id: ref.emoji_id })
      if (found.name !== ref.name) return yield* new EmojiNotFound()
    }
  })

export const dmsRoutes = <E, R>(router: HttpRouter.HttpRouter<E, R>) =>
  router.pipe(
    // 201 for a DM just made, 200 for the pair's existing one: the one case where the status says which.
    rawRoute(Dms.openDm, ({ body }) =>
      Effect.gen(function* () {
        const directory = yield* DmDirectory
        const caller = yield* actor
        const opened = "recipient_id" in body
          ? yield* directory.openDirect(caller, body.recipient_id)
          : { dm: yield* directory.openGroup(caller, body.recipient_ids, body.name ?? null), created: true }
        return json(opened.created ? 201 : 200, yield* encodeDm(opened.dm).pipe(Effect.orDie))
      })),
    route(Dms.listDms, () =>
      Effect.gen(function* () {
        const directory = yield* DmDirectory
        return { dms: yield* directory.list(yield* actor) }
      })),
    route(Dms.getDm, ({ params }) =>
      Effect.gen(function* () {
        return yield* (yield* dm(params.dm_id)).Get({ actor: yield* actor })
      })),
    route(Dms.closeDm, ({ params }) =>
      Effect.gen(function* () {
        yield* (yield* dm(params.dm_id)).Close({ actor: yield* actor })
      })),
    route(Dms.updateDm, ({ params, body }) =>
      Effect.gen(function* () {
        return yield* (yield* dm(params.dm_id)).Update({ actor: yield* actor, patch: body })
      })),
    route(Dms.addDmRecipient, ({ params }) =>
      Effect.gen(function* () {
        yield* (yield* dm(params.dm_id)).AddRecipient({ actor: yield* actor, user_id: params.user_id })
      })),
    route(Dms.removeDmRecipient, ({ params }) =>
      Effect.gen(function* () {
        yield* (yield* dm(params.dm_id)).RemoveRecipient({ actor: yield* actor, user_id: params.user_id })
      })),
    route(Dms.markDmRead, ({ params, body }) =>
      Effect.gen(function* () {
        yield* (yield* dm(params.dm_id)).MarkRead({ actor: yield* actor, up_to_msg_id: body.up_to_msg_id })
      })),
    route(Dms.getDmHistory, ({ params, query }) =>
      Effect.gen(function* () {
        return yield* (yield* dm(params.dm_id)).History({ actor: yield* actor, query })
      })),
    route(Dms.sendDmMessage, ({ params, body }) =>
      Effect.gen(function* () {
        return yield* (yield* dm(params.dm_id)).Send({ actor: yield* actor, message: body })
      })),
    route(Dms.editDmMessage, ({ params, body }) =>
      Effect.gen(function* () {
        return yield* (yield* dm(params.dm_id)).Edit({ actor: yield* actor, msg_id: params.msg_id, body: body.body })
      })),
    route(Dms.deleteDmMessage, ({ params }) =>
      Effect.gen(function* () {
        yield* (yield* dm(params.dm_id)).Delete({ actor: yield* actor, msg_id: params.msg_id })
      })),
    route(Dms.addDmReaction, ({ params }) =>
      Effect.gen(function* () {
        const entity = yield* dm(params.dm_id)
        const caller = yield* actor
        // The participant check comes first: a stranger learns nothing, not even about emoji.
        yield* entity.Get({ actor: caller })
        yield* checkDmReactionEmoji(params.emoji)
        yield* entity.AddReaction({ actor: caller, msg_id: params.msg_id, emoji: params.emoji })
      })),
    route(Dms.removeDmReaction, ({ params }) =>
      Effect.gen(function* () {
        yield* (yield* dm(params.dm_id)).RemoveReaction({ actor: yield* actor, msg_id: params.msg_id, emoji: params.emoji })
      }))
  )
