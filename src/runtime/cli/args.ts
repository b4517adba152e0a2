// Command-line parsing with node:util's parseArgs: unknown flags and missing values are usage errors.
import { Data, Either } from "effect"
import { parseArgs } from "node:util"

export class UsageError extends Data.TaggedError("UsageError")<{ readonly message: string; readonly usage: string }> {}

export interface FlagSpec {
  readonly [name: string]: { readonly type: "string" | "boolean"; readonly describe: string; readonly required?: boolean }
}

export type FlagValues<F extends FlagSpec> = {
  readonly [K in keyof F]: F[K]["type"] extends "boolean" ? boolean : F[K]["required"] extends true ? string : string | undefined
}

export const parseFlags = <F extends FlagSpec>(
  args: ReadonlyArray<string>,
  spec: F,
  usage: string
): Either.Either<FlagValues<F>, UsageError> => {
  try {
    const options: Record<string, { type: "string" | "boolean" }> = {}
    for (const [name, flag] of Object.entries(spec)) options[name] = { type: flag.type }
    const { values, positionals } = parseArgs({ args: [...args], options, strict: true, allowPositionals: true })
    if (positionals.length > 0) {
      return Either.left(new UsageError({ message: `Unexpected argument: ${positionals[0]}`, usage }))
    }
    const out: Record<string, string | boolean | undefined> = {}
    for (const [name, flag] of Object.entries(spec)) {
      const value = values[name]
      if (flag.required === true && values.help !== true && (value === undefined || value === "")) {
        return Either.left(new UsageError({ message: `Missing --${name}`, usage }))
      }
      out[name] = flag.type === "boolean" ? value === true : typeof value === "string" ? value : undefined
    }
    return Either.right(out as FlagValues<F>)
  } catch (e) {
    return Either.left(new UsageError({ message: e instanceof Error ? e.message : String(e), usage }))
  }
}

export const describeFlags = (spec: FlagSpec): string =>
  Object.entries(spec)
    .map(([name, flag]) => `  --${name}${flag.type === "string" ? " <value>" : ""}`.padEnd(28) + flag.describe)
    .join("\n")
