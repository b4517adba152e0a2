// Runs the real `vox` executable (bin/vox.js) as a child process, the way a user does.
import { type ChildProcess, spawn } from "node:child_process"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { afterAll } from "vitest"
import { envNameOf } from "../../src/runtime/config/VoxConfig.js"
import { RATE_LIMIT_CATEGORIES } from "../../src/runtime/ratelimit/quotas.js"

export const repoRoot = Path.resolve(import.meta.dirname, "../..")
const bin = Path.join(repoRoot, "bin/vox.js")

export interface RunResult {
  readonly code: number | null
  readonly stdout: string
  readonly stderr: string
}

// What GENEROUS_RATE_LIMITS (./server.ts) is for the servers a suite starts as processes.
const generousRateLimits = Object.fromEntries(
  RATE_LIMIT_CATEGORIES.map((category) => [envNameOf(`rateLimits.${category}.requests`), "1000000"])
)

const cleanEnv = (env: Record<string, string | undefined> = {}) => {
  const out: Record<string, string | undefined> = { ...process.env }
  // the suite's own settings must not leak into the processes it starts
  for (const key of Object.keys(out)) if (key.startsWith("VOX_")) delete out[key]
  return { ...out, ...generousRateLimits, ...env }
}

/** Runs `vox <args>` to completion. */
export const runVox = (args: ReadonlyArray<string>, env?: Record<string, string | undefined>): Promise<RunResult> =>
  new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, ...args], { cwd: repoRoot, env: cleanEnv(env) })
    let stdout = ""
    let stderr = ""
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()))
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()))
    child.on("error", reject)
    child.on("close", (code) => resolve({ code, stdout, stderr }))
  })

export interface RunningServer {
  readonly url: string
  readonly child: ChildProcess
  readonly output: () => string
  /** Resolves with the exit code (or signal name) once the process has ended. */
  readonly exited: Promise<number | string | null>
}

/** Starts a long-running command and waits for its "listening on <url>" line. */
export const startProcess = (
  command: string,
  args: ReadonlyArray<string>,
  options: {
    env?: Record<string, string | undefined>
    detached?: boolean
    /** How long it may take to listen (45 s unless given: a busy machine can take longer). */
    startTimeoutMs?: number
  } = {}
): Promise<RunningServer> =>
  new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: repoRoot, env: cleanEnv(options.env), detached: options.detached ?? false })
    let output = ""
    const exited = new Promise<number | string | null>((done) => child.on("exit", (code, signal) => done(code ?? signal)))
    const timer = setTimeout(() => {
      child.kill("SIGKILL")
      reject(new Error(`server did not start in time:\n${output}`))
    }, options.startTimeoutMs ?? 45_000)
    const onData = (d: Buffer) => {
      output += d.toString()
      const match = /listening on (http:\/\/\S+)/.exec(output)
      if (match !== null) {
        clearTimeout(timer)
        resolve({ url: match[1]!, child, output: () => output, exited })
      }
    }
    child.stdout?.on("data", onData)
    child.stderr?.on("data", (d: Buffer) => (output += d.toString()))
    void exited.then((code) => {
      clearTimeout(timer)
      reject(new Error(`server exited (${String(code)}) before listening:\n${output}`))
    })
  })

export const startVox = (args: ReadonlyArray<string>, env?: Record<string, string | undefined>) =>
  startProcess(process.execPath, [bin, ...args], env === undefined ? {} : { env })

const scratchDirs: Array<string> = []
afterAll(() => scratchDirs.forEach((d) => Fs.rmSync(d, { recursive: true, force: true })))

/** A fresh directory for a data dir or config file, removed after the suite. */
export const scratchDir = (prefix = "vox-") => {
  const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), prefix))
  scratchDirs.push(dir)
  return dir
}
