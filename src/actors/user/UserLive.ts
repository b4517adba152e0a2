// Behaviour of the User entity.
import { Entity } from "@effect/cluster"
import { Effect, Option } from "effect"
import { UserNotFound } from "../../protocol/errors.js"
import { UserUpdate } from "../../protocol/events.js"
import { UserId } from "../../protocol/ids.js"
import { dieOnStorageError } from "../../runtime/db/storageErrors.js"
import { Events } from "../../runtime/events/Events.js"
import { MemberRepo } from "../community/members/MemberRepo.js"
import { User } from "./User.js"
import { UserRepo } from "./UserRepo.js"

export const UserLive = User.toLayer(
  Effect.gen(function* () {
    const address = yield* Entity.CurrentAddress
    const repo = yield* UserRepo
    const members = yield* MemberRepo
    const events = yield* Events
    const userId = UserId.make(Number(address.entityId))

    const profile = repo.find(userId).pipe(
      Effect.flatMap(Option.match({ onNone: () => Effect.fail(new UserNotFound()), onSome: Effect.succeed }))
    )

    return User.of({
      Get: () => profile.pipe(dieOnStorageError),
      UpdateProfile: ({ payload }) =>
        events.transact((emit) =>
          Effect.gen(function* () {
            yield* profile
            yield* repo.update(userId, payload.patch)
            const updated = yield* profile
            const roles = yield* members.rolesOf([userId])
            yield* emit(UserUpdate, {
              ...updated,
              roles: roles.get(userId) ?? [],
              created_at: new Date(updated.created_at).toISOString()
            }, { _tag: "server" })
            return updated
          })
        ).pipe(dieOnStorageError)
    })
  })
)
