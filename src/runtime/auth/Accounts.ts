// Registration and password login: hashing happens here, outside the Community entity, so a 100 ms
// argon2 run never holds up the entity's mailbox.
import { SqlClient } from "@effect/sql"
import { Effect, Option, Schema } from "effect"
import { COMMUNITY_ID, Community } from "../../actors/community/Community.js"
import { User } from "../../actors/user/User.js"
import type { LoginResult } from "../../protocol/api/auth.js"
import type { LoginTwoFactorRequest } from "../../protocol/api/twoFactor.js"
import type { WebAuthnLoginRequest } from "../../protocol/api/webauthn.js"
import { AccountSuspended, AuthFailed, InviteInvalid, RegistrationClosed, TwoFactorMaxAttempts } from "../../protocol/errors.js"
import { Passwords } from "./Passwords.js"
import { UserId } from "../../protocol/ids.js"
import { VoxConfig } from "../config/VoxConfig.js"
import { BoolColumn, decodeRows, IntColumn } from "../db/columns.js"
import { dieOnStorageError } from "../db/storageErrors.js"
import { makeMfaTickets } from "./MfaTickets.js"
import { Sessions } from "./Sessions.js"
import { TwoFactor } from "./TwoFactor.js"

export interface ClientMeta {
  readonly ip: string | null
  readonly userAgent: string | null
}

/** The password hash and standing of an account, by lowercased username. */
const credentialsOf = (usernameKey: string) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const rows = yield* sql`SELECT u.id AS user_id, c.password_hash, u.suspended, u.is_bot
      FROM users u JOIN credentials c ON c.user_id = u.id WHERE u.username_key = ${usernameKey}`.pipe(
      Effect.flatMap(decodeRows(Schema.Struct({
        user_id: Schema.compose(IntColumn, UserId),
        password_hash: Schema.String,
        suspended: IntColumn,
        is_bot: IntColumn
      })))
    )
    return Option.fromNullable(rows[0])
  }).pipe(dieOnStorageError)

const StandingRow = Schema.Struct({ suspended: BoolColumn, is_bot: BoolColumn })

/** Whether an account may still sign in (checked again when a second factor completes a login). */
const standingOf = (userId: number) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const rows = yield* sql`SELECT suspended, is_bot FROM users WHERE id = ${userId}`.pipe(
      Effect.flatMap(decodeRows(StandingRow))
    )
    return rows[0]
  }).pipe(dieOnStorageError)

/** Whether the server has its owner yet (its first account). */
const hasOwner = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  const rows = yield* sql`SELECT owner_id FROM server WHERE id = 1`.pipe(
    Effect.flatMap(decodeRows(Schema.Struct({ owner_id: Schema.NullOr(IntColumn) })))
  )
  return rows[0]?.owner_id !== null && rows[0]?.owner_id !== undefined
}).pipe(dieOnStorageError)

export class Accounts extends Effect.Service<Accounts>()("vox/Accounts", {
  effect: Effect.gen(function* () {
    const passwords = yield* Passwords
    const sessions = yield* Sessions
    const community = (yield* Community.client)(COMMUNITY_ID)
    const users = yield* User.client
    const config = yield* VoxConfig
    const twoFactor = yield* TwoFactor
    const tickets = yield* makeMfaTickets
    const sql = yield* SqlClient.SqlClient

    /**
     * A new account and member. `via: "admin"` (the CLI) skips the registration mode and member limit;
     * `admin` grants the Admin role (the CLI's `--admin`).
     */
    const create = (input: {
      username: string
      password: string
      display_name?: string | undefined
      invite_code?: string | undefined
      admin: boolean
      via: "api" | "admin"
    }) =>
      Effect.gen(function* () {
        const password_hash = yield* passwords.hash(input.password)
        return yield* community.Register({
          username: input.username,
          password_hash,
          display_name: input.display_name,
          invite_code: input.invite_code,
          admin: input.admin,
          via: input.via
        })
      })

    /**
     * The registration mode, checked before the password is hashed (argon2id costs ~100 ms and 64 MiB):
     * a refused registration costs the server almost nothing. The Community entity checks again, in
     * the write that creates the account.
     */
    const admissible = (inviteCode: string | undefined) =>
      Effect.gen(function* () {
        if (!(yield* hasOwner)) return // the first account, the owner, is always allowed
        const mode = config.auth.registration
        if (mode === "closed") return yield* new RegistrationClosed()
        if (inviteCode === undefined) {
          if (mode === "invite") return yield* new InviteInvalid({ message: "An invite code is required to register." })
          return
        }
        yield* community.ResolveInvite({ code: inviteCode })
      })

    const register = (
      input: { username: string; password: string; display_name?: string | undefined; invite_code?: string | undefined },
      meta: ClientMeta
    ) =>
      Effect.gen(function* () {
        yield* admissible(input.invite_code)
        const member = yield* create({ ...input, admin: false, via: "api" })
        const session = yield* sessions.create(member.user_id, "user", meta)
        return { user_id: member.user_id, token: session.token }
      })

    /** A new session and what the login response tells about its user. */
    const signIn = (userId: UserId, meta: ClientMeta) =>
      Effect.gen(function* () {
        const session = yield* sessions.create(userId, "user", meta)
        const [profile, member] = yield* Effect.all([
          users(String(userId)).Get(),
          community.Member({ user_id: userId })
        ])
        return { token: session.token, user_id: userId, display_name: profile.display_name, roles: member.roles }
      })

    /** Password first; an account with a second factor gets an mfa_ticket instead of a session. */
    const login = (input: { username: string; password: string }, meta: ClientMeta) =>
      Effect.gen(function* () {
        const credentials = yield* credentialsOf(input.username.toLowerCase())
        if (Option.isNone(credentials)) {
          yield* passwords.verifyDecoy(input.password)
          return yield* new AuthFailed({ message: "Invalid username or password." })
        }
        const account = credentials.value
        if (!(yield* passwords.verify(account.password_hash, input.password)) || account.is_bot !== 0) {
          return yield* new AuthFailed({ message: "Invalid username or password." })
        }
        // Only someone who knows the password learns that the account is suspended.
        if (account.suspended !== 0) return yield* new AccountSuspended()
        const factors = yield* twoFactor.loginMethods(account.user_id)
        if (factors.required) {
          const ticket = yield* tickets.issue(account.user_id).pipe(dieOnStorageError)
          const challenge: LoginResult = { mfa_required: true, mfa_ticket: ticket, available_methods: factors.methods }
          return challenge
        }
        const session: LoginResult = yield* signIn(account.user_id, meta)
        return session
      })

    const mayStillSignIn = (userId: number) =>
      Effect.gen(function* () {
        const standing = yield* standingOf(userId)
        if (standing === undefined || standing.is_bot) return yield* tickets.expired
        if (standing.suspended) return yield* new AccountSuspended()
      })

    /**
     * The second step of a password login. The attempt is counted on the ticket before the factor is
     * checked; a factor that passes is spent in the same transaction that ends the ticket.
     */
    const loginTwoFactor = (request: LoginTwoFactorRequest, meta: ClientMeta) =>
      Effect.gen(function* () {
        const attempt = yield* tickets.claim(request.mfa_ticket).pipe(dieOnStorageError)
        const spend = yield* twoFactor.verifySecondFactor(attempt.userId, request).pipe(
          // the attempt that used up the ticket says so, whatever was wrong with it
          Effect.catchAll((error) => Effect.fail(attempt.last ? new TwoFactorMaxAttempts() : error))
        )
        yield* sql.withTransaction(Effect.gen(function* () {
          if (!(yield* tickets.consume(attempt))) return yield* tickets.expired
          yield* spend
        })).pipe(dieOnStorageError)
        yield* mayStillSignIn(attempt.userId)
        return yield* signIn(attempt.userId, meta)
      })

    /** A passwordless login with a WebAuthn key (reference API.md §5): no password, no ticket. */
    const loginWebAuthn = (request: WebAuthnLoginRequest, meta: ClientMeta) =>
      Effect.gen(function* () {
        const verified = yield* twoFactor.verifyPasswordless(request)
        yield* sql.withTransaction(verified.spend).pipe(dieOnStorageError)
        yield* mayStillSignIn(verified.userId)
        return yield* signIn(verified.userId, meta)
      })

    return { create, register, login, loginTwoFactor, loginWebAuthn } as const
  })
}) {}
