// What the `vox` commands do. Loaded only once a command runs, so `vox --help` and `vox version` start without
// loading the server.
import { Console, Effect, Either, Layer, Schema } from "effect"
import { COMMUNITY_ID, Community, type AccountSummary } from "../../actors/community/Community.js"
import { Password, Username } from "../../protocol/api/fields.js"
import { UserNotFound } from "../../protocol/errors.js"
import { Accounts } from "../auth/Accounts.js"
import { Sessions } from "../auth/Sessions.js"
import { type ConfigSources, VoxConfig } from "../config/VoxConfig.js"
import { VoxCoreLive, VoxServerLive } from "../VoxRuntime.js"
import { DatabaseLive } from "../db/Database.js"
import { listeningUrl } from "../http/HttpLive.js"
import { migrate } from "../db/Migrate.js"
import { UsageError } from "./args.js"
import { VERSION } from "./version.js"

const validate = <A, I>(schema: Schema.Schema<A, I>, value: I, flag: string, usage: string) =>
  Schema.decodeEither(schema)(value).pipe(
    Either.mapLeft((e) => new UsageError({ message: `Invalid --${flag}: ${e.message.split("\n").at(-1)?.trim()}`, usage })),
    Either.match({ onLeft: (e) => Effect.fail(e), onRight: Effect.succeed })
  )

const core = (sources: ConfigSources) => VoxCoreLive(VoxConfig.layerAdminTool(sources))

const withAccount = <A, E, R>(username: string, f: (account: AccountSummary) => Effect.Effect<A, E, R>) =>
  Effect.gen(function* () {
    const community = (yield* Community.client)(COMMUNITY_ID)
    const accounts = yield* community.ListAccounts()
    const account = accounts.find((a) => a.username.toLowerCase() === username.toLowerCase())
    if (account === undefined) return yield* new UserNotFound({ message: `No user named ${username}` })
    return yield* f(account)
  })

const printAccount = (a: AccountSummary) =>
  Console.log(
    `${String(a.user_id).padStart(6)}  ${a.username.padEnd(32)} ${[a.owner ? "owner" : "", a.admin ? "admin" : "", a.suspended ? "suspended" : ""].filter(Boolean).join(",")}`
  )

export const serve = (sources: ConfigSources) =>
  Effect.gen(function* () {
    yield* Console.log(`Vox ${VERSION} is listening on ${yield* listeningUrl}`)
    return yield* Effect.never
  }).pipe(Effect.provide(VoxServerLive(VoxConfig.layer(sources))))

export const migrateDatabase = (sources: ConfigSources) =>
  Effect.gen(function* () {
    const applied = yield* migrate
    yield* Console.log(
      applied.length === 0 ? "The database is up to date." : applied.map(([id, name]) => `applied ${id}_${name}`).join("\n")
    )
  }).pipe(Effect.provide(DatabaseLive.pipe(Layer.provideMerge(VoxConfig.layer(sources)))))

export const createUser = (
  sources: ConfigSources,
  values: { readonly username: string; readonly password: string; readonly "display-name": string | undefined; readonly admin: boolean },
  usage: string
) =>
  Effect.gen(function* () {
    const username = yield* validate(Username, values.username, "username", usage)
    const password = yield* validate(Password, values.password, "password", usage)
    const accounts = yield* Accounts
    const member = yield* accounts.create({ username, password, display_name: values["display-name"], admin: values.admin, via: "admin" })
    yield* Console.log(`Created user ${username} (id ${member.user_id})${member.owner ? ", owner" : ""}${values.admin ? ", administrator" : ""}`)
  }).pipe(Effect.provide(core(sources)))

export const listUsers = (sources: ConfigSources) =>
  Effect.gen(function* () {
    const community = (yield* Community.client)(COMMUNITY_ID)
    const accounts = yield* community.ListAccounts()
    if (accounts.length === 0) return yield* Console.log("No users yet.")
    yield* Effect.forEach(accounts, printAccount, { discard: true })
  }).pipe(Effect.provide(core(sources)))

export const setAdmin = (sources: ConfigSources, username: string, admin: boolean) =>
  withAccount(username, (account) =>
    Effect.gen(function* () {
      const community = (yield* Community.client)(COMMUNITY_ID)
      yield* community.SetAdmin({ user_id: account.user_id, admin })
      yield* Console.log(`${account.username} is ${admin ? "now" : "no longer"} an administrator`)
    })).pipe(Effect.provide(core(sources)))

export const setSuspended = (sources: ConfigSources, username: string, suspended: boolean) =>
  withAccount(username, (account) =>
    Effect.gen(function* () {
      const community = (yield* Community.client)(COMMUNITY_ID)
      yield* community.SetSuspended({ user_id: account.user_id, suspended })
      const ended = suspended ? yield* Effect.flatMap(Sessions, (s) => s.revokeAll(account.user_id)) : 0
      yield* Console.log(`${account.username} is ${suspended ? `suspended (${ended} sessions ended)` : "no longer suspended"}`)
    })).pipe(Effect.provide(core(sources)))
