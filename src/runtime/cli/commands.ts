// The `vox` commands: serve, migrate, admin ..., version.
import { Console, Effect, Either, Layer, Schema } from "effect"
import { COMMUNITY_ID, Community, type AccountSummary } from "../../actors/community/Community.js"
import { Password, Username } from "../../protocol/api/fields.js"
import { UserNotFound } from "../../protocol/errors.js"
import { Accounts } from "../auth/Accounts.js"
import { Sessions } from "../auth/Sessions.js"
import { type ConfigSources, VoxConfig, type VoxConfigFile } from "../config/VoxConfig.js"
import { VoxCoreLive, VoxServerLive } from "../VoxRuntime.js"
import { DatabaseLive } from "../db/Database.js"
import { listeningUrl } from "../http/HttpLive.js"
import { migrate } from "../db/Migrate.js"
import { describeFlags, type FlagSpec, type FlagValues, parseFlags, UsageError } from "./args.js"
import { VERSION } from "./version.js"

const common = {
  config: { type: "string", describe: "config file (default ./vox.config.ts, or VOX_CONFIG)" },
  "data-dir": { type: "string", describe: "data directory (default ./data)" },
  help: { type: "boolean", describe: "show this help" }
} as const

export interface Command {
  readonly name: string
  readonly summary: string
  readonly usage: string
  readonly run: (args: ReadonlyArray<string>) => Effect.Effect<void, unknown>
}

const sourcesOf = (values: { readonly config: string | undefined; readonly "data-dir": string | undefined }, flags: VoxConfigFile = {}): ConfigSources => ({
  file: values.config,
  flags: values["data-dir"] === undefined ? flags : { ...flags, dataDir: values["data-dir"] }
})

const command = <F extends FlagSpec>(spec: {
  name: string
  summary: string
  flags: F
  run: (values: FlagValues<F & typeof common>, usage: string) => Effect.Effect<void, unknown>
}): Command => {
  const flags = { ...spec.flags, ...common }
  const usage = `Usage: vox ${spec.name} [options]\n\n${spec.summary}\n\nOptions:\n${describeFlags(flags)}`
  return {
    name: spec.name,
    summary: spec.summary,
    usage,
    run: (args) =>
      Either.match(parseFlags(args, flags, usage), {
        onLeft: (e) => Effect.fail(e),
        onRight: (values) => (values.help ? Console.log(usage) : spec.run(values as FlagValues<F & typeof common>, usage))
      })
  }
}

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

const serve = command({
  name: "serve",
  summary: "Start the server and serve the community until SIGINT/SIGTERM.",
  flags: {
    port: { type: "string", describe: "port to listen on (default 8080)" },
    host: { type: "string", describe: "address to listen on (default 127.0.0.1)" }
  },
  run: (values, usage) =>
    Effect.gen(function* () {
      const http: Record<string, string | number> = {}
      if (values.host !== undefined) http.host = values.host
      if (values.port !== undefined) {
        const port = Number(values.port)
        if (!/^[0-9]{1,5}$/.test(values.port) || port > 65535) {
          return yield* new UsageError({ message: `Invalid --port: ${values.port}`, usage })
        }
        http.port = port
      }
      const layer = VoxServerLive(VoxConfig.layer(sourcesOf(values, { http })))
      yield* Effect.gen(function* () {
        yield* Console.log(`Vox ${VERSION} is listening on ${yield* listeningUrl}`)
        return yield* Effect.never
      }).pipe(Effect.provide(layer))
    })
})

const migrateCommand = command({
  name: "migrate",
  summary: "Apply the database migrations this server has not run yet, then exit.",
  flags: {},
  run: (values) =>
    Effect.gen(function* () {
      const applied = yield* migrate
      yield* Console.log(
        applied.length === 0 ? "The database is up to date." : applied.map(([id, name]) => `applied ${id}_${name}`).join("\n")
      )
    }).pipe(Effect.provide(DatabaseLive.pipe(Layer.provideMerge(VoxConfig.layer(sourcesOf(values))))))
})

const createUser = command({
  name: "admin create-user",
  summary: "Create an account; --admin gives it the Admin role.",
  flags: {
    username: { type: "string", describe: "the new username", required: true },
    password: { type: "string", describe: "its password (8+ characters)", required: true },
    "display-name": { type: "string", describe: "display name (default: the username)" },
    admin: { type: "boolean", describe: "make the user an administrator" }
  },
  run: (values, usage) =>
    Effect.gen(function* () {
      const username = yield* validate(Username, values.username, "username", usage)
      const password = yield* validate(Password, values.password, "password", usage)
      const accounts = yield* Accounts
      const member = yield* accounts.create({ username, password, display_name: values["display-name"], admin: values.admin, via: "admin" })
      yield* Console.log(`Created user ${username} (id ${member.user_id})${member.owner ? ", owner" : ""}${values.admin ? ", administrator" : ""}`)
    }).pipe(Effect.provide(core(sourcesOf(values))))
})

const listUsers = command({
  name: "admin list-users",
  summary: "List every account: id, username and flags.",
  flags: {},
  run: (values) =>
    Effect.gen(function* () {
      const community = (yield* Community.client)(COMMUNITY_ID)
      const accounts = yield* community.ListAccounts()
      if (accounts.length === 0) return yield* Console.log("No users yet.")
      yield* Effect.forEach(accounts, printAccount, { discard: true })
    }).pipe(Effect.provide(core(sourcesOf(values))))
})

const userFlag = { username: { type: "string", describe: "the user", required: true } } as const

const setAdmin = (name: string, admin: boolean) =>
  command({
    name,
    summary: admin ? "Give a user the Admin role (ADMINISTRATOR)." : "Take the Admin role from a user (never the last one).",
    flags: userFlag,
    run: (values) =>
      withAccount(values.username, (account) =>
        Effect.gen(function* () {
          const community = (yield* Community.client)(COMMUNITY_ID)
          yield* community.SetAdmin({ user_id: account.user_id, admin })
          yield* Console.log(`${account.username} is ${admin ? "now" : "no longer"} an administrator`)
        })).pipe(Effect.provide(core(sourcesOf(values))))
  })

const setSuspended = (name: string, suspended: boolean) =>
  command({
    name,
    summary: suspended ? "Suspend a user: they cannot log in and their sessions end." : "Lift a user's suspension.",
    flags: userFlag,
    run: (values) =>
      withAccount(values.username, (account) =>
        Effect.gen(function* () {
          const community = (yield* Community.client)(COMMUNITY_ID)
          yield* community.SetSuspended({ user_id: account.user_id, suspended })
          const ended = suspended ? yield* Effect.flatMap(Sessions, (s) => s.revokeAll(account.user_id)) : 0
          yield* Console.log(`${account.username} is ${suspended ? `suspended (${ended} sessions ended)` : "no longer suspended"}`)
        })).pipe(Effect.provide(core(sourcesOf(values))))
  })

const version = command({
  name: "version",
  summary: "Print the version of Vox.",
  flags: {},
  run: () => Console.log(`vox ${VERSION}`)
})

export const commands: ReadonlyArray<Command> = [
  serve,
  migrateCommand,
  createUser,
  listUsers,
  setAdmin("admin set-admin", true),
  setAdmin("admin unset-admin", false),
  setSuspended("admin suspend", true),
  setSuspended("admin unsuspend", false),
  version
]
