// The `vox` commands: serve, migrate, admin ..., version. Only their names, flags and help live here; what each
// does is in ./actions.ts, imported when it runs.
import { Console, Effect, Either } from "effect"
import type { ConfigSources, VoxConfigFile } from "../config/VoxConfig.js"
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

const actions = Effect.promise(() => import("./actions.js"))

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
      return yield* (yield* actions).serve(sourcesOf(values, { http }))
    })
})

const migrateCommand = command({
  name: "migrate",
  summary: "Apply the database migrations this server has not run yet, then exit.",
  flags: {},
  run: (values) => Effect.flatMap(actions, (a) => a.migrateDatabase(sourcesOf(values)))
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
  run: (values, usage) => Effect.flatMap(actions, (a) => a.createUser(sourcesOf(values), values, usage))
})

const listUsers = command({
  name: "admin list-users",
  summary: "List every account: id, username and flags.",
  flags: {},
  run: (values) => Effect.flatMap(actions, (a) => a.listUsers(sourcesOf(values)))
})

const userFlag = { username: { type: "string", describe: "the user", required: true } } as const

const setAdmin = (name: string, admin: boolean) =>
  command({
    name,
    summary: admin ? "Give a user the Admin role (ADMINISTRATOR)." : "Take the Admin role from a user (never the last one).",
    flags: userFlag,
    run: (values) => Effect.flatMap(actions, (a) => a.setAdmin(sourcesOf(values), values.username, admin))
  })

const setSuspended = (name: string, suspended: boolean) =>
  command({
    name,
    summary: suspended ? "Suspend a user: they cannot log in and their sessions end." : "Lift a user's suspension.",
    flags: userFlag,
    run: (values) => Effect.flatMap(actions, (a) => a.setSuspended(sourcesOf(values), values.username, suspended))
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
