// `vox`: the command-line entry. Picks the command (one or two words), runs it, and turns failures into
// one readable line and a non-zero exit code.
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { Cause, Console, Effect, Logger, LogLevel, Option } from "effect"
import { commands, type Command } from "./commands.js"
import { UsageError } from "./args.js"

const overview = [
  "Usage: vox <command> [options]",
  "",
  "Commands:",
  ...commands.map((c) => `  ${c.name.padEnd(22)}${c.summary}`),
  "",
  "Run `vox <command> --help` for the options of a command."
].join("\n")

const pick = (argv: ReadonlyArray<string>): Option.Option<readonly [Command, ReadonlyArray<string>]> => {
  const two = `${argv[0]} ${argv[1]}`
  const byTwo = commands.find((c) => c.name === two)
  if (byTwo !== undefined) return Option.some([byTwo, argv.slice(2)] as const)
  const byOne = commands.find((c) => c.name === argv[0])
  return byOne === undefined ? Option.none() : Option.some([byOne, argv.slice(1)] as const)
}

const describeFailure = (error: unknown): string => {
  if (error instanceof UsageError) return error.usage === "" ? error.message : `${error.message}\n\n${error.usage}`
  if (typeof error === "object" && error !== null && "message" in error && typeof error.message === "string") {
    const code = "code" in error && typeof error.code === "string" ? `${error.code}: ` : ""
    return code + error.message
  }
  return String(error)
}

export const main = (argv: ReadonlyArray<string>) =>
  Effect.gen(function* () {
    if (argv.length === 0 || argv[0] === "--help" || argv[0] === "-h" || argv[0] === "help") {
      yield* Console.log(overview)
      if (argv.length === 0) process.exitCode = 2
      return
    }
    if (argv[0] === "--version" || argv[0] === "-v") argv = ["version"]
    const picked = pick(argv)
    if (Option.isNone(picked)) {
      yield* Console.error(`Unknown command: ${argv.join(" ")}\n\n${overview}`)
      process.exitCode = 2
      return
    }
    const [cmd, rest] = picked.value
    yield* cmd.run(rest).pipe(
      Effect.catchAllCause((cause) =>
        Effect.gen(function* () {
          if (Cause.isInterruptedOnly(cause)) return
          const failure = Cause.failureOption(cause)
          if (Option.isSome(failure)) {
            yield* Console.error(describeFailure(failure.value))
            process.exitCode = failure.value instanceof UsageError ? 2 : 1
          } else {
            yield* Console.error(Cause.pretty(cause))
            process.exitCode = 1
          }
        })
      )
    )
  })

const level = (process.env.VOX_LOG_LEVEL ?? "info").toLowerCase()
const minimum = LogLevel.allLevels.find((l) => l.label.toLowerCase() === level) ?? LogLevel.Info

main(process.argv.slice(2)).pipe(
  Logger.withMinimumLogLevel(minimum),
  (effect) => NodeRuntime.runMain(effect, { disableErrorReporting: true })
)
