// Password hashing with argon2id, at the cost `auth.passwordHash` sets (by default m = 64 MiB, t = 3,
// p = 4). Checking a password for an account that
// does not exist costs one full verification too, so timing does not reveal which usernames exist.
import argon2 from "argon2"
import { Effect } from "effect"
import { randomBytes } from "node:crypto"
import { VoxConfig } from "../config/VoxConfig.js"

export class Passwords extends Effect.Service<Passwords>()("vox/Passwords", {
  effect: Effect.gen(function* () {
    const cost = (yield* VoxConfig).auth.passwordHash
    const options = { type: argon2.argon2id, memoryCost: cost.memory, timeCost: cost.passes, parallelism: cost.lanes } as const
    const hash = (password: string) =>
      Effect.tryPromise(() => argon2.hash(password, options)).pipe(Effect.orDie, Effect.withSpan("Passwords.hash"))

    const verify = (passwordHash: string, password: string) =>
      Effect.tryPromise(() => argon2.verify(passwordHash, password)).pipe(
        // a corrupt stored hash must not let anyone in, nor crash the login
        Effect.orElseSucceed(() => false),
        Effect.withSpan("Passwords.verify")
      )

    // A real hash of a random secret: verifying against it takes as long as a real account's check.
    const decoy = yield* hash(randomBytes(32).toString("base64"))

    return {
      hash,
      verify,
      /** Spends the time of a verification and fails, for logins with an unknown username. */
      verifyDecoy: (password: string) => verify(decoy, password).pipe(Effect.as(false))
    } as const
  })
}) {}
