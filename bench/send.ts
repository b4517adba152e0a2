// The send benchmark of issue 4 (run by `npm run bench` after the vitest benches): durable message
// sends through REST on one node with SQLite, with 1 and with 50 concurrent senders, next to the raw
// ceiling of the same machine, a bare node:http server doing one durable SQLite insert per request
// (bench/rawServer.ts). Both servers run as child processes on fresh data dirs (Vox exactly as
// `vox serve` runs it); this process is the client of both, with the same load generator.
//
// Environment: SEND_BENCH_SECONDS (measured seconds per scenario, default 5), SEND_BENCH_PROFILE=1
// (the Vox server writes a CPU profile into its data dir when it exits).
import { type ChildProcess, spawn } from "node:child_process"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { load, request, type Result, type Target } from "./load.js"

const root = Path.resolve(import.meta.dirname, "..")
const SENDERS = [1, 50]
const WARMUP_MS = 1_000
const MEASURE_MS = Number(process.env.SEND_BENCH_SECONDS ?? "5") * 1000
const PROFILE = process.env.SEND_BENCH_PROFILE === "1"

interface Server {
  readonly url: string
  /** CPU time the server process has used so far, in microseconds (Linux; undefined elsewhere). */
  readonly cpu: () => number | undefined
  readonly stop: () => Promise<void>
}

/** utime + stime of a process from /proc, in microseconds. */
const cpuOf = (pid: number | undefined) => {
  if (pid === undefined) return undefined
  try {
    const fields = Fs.readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ")
    const ticks = Number(fields[11]) + Number(fields[12])
    return (ticks * 1_000_000) / CLOCK_TICKS
  } catch {
    return undefined
  }
}
// USER_HZ: 100 on every Linux Node.js runs on.
const CLOCK_TICKS = 100

/**
 * The benchmark measures how fast sends can go, not the rate limits that keep one member from
 * flooding a feed (seed 002 §11): those of sending and of registering the senders are lifted.
 */
const UNLIMITED = {
  VOX_RATE_LIMITS_MESSAGE_SEND_REQUESTS: "1000000000",
  VOX_RATE_LIMITS_AUTH_REQUESTS: "1000000"
}

/** Starts a server process and waits for its "listening on <url>" line. */
const start = (args: ReadonlyArray<string>): Promise<Server> =>
  new Promise((resolve, reject) => {
    const env: Record<string, string | undefined> = { ...process.env }
    for (const key of Object.keys(env)) if (key.startsWith("VOX_")) delete env[key]
    Object.assign(env, UNLIMITED)
    const child: ChildProcess = spawn(process.execPath, args, { cwd: root, env, stdio: ["ignore", "pipe", "pipe"] })
    let output = ""
    const exited = new Promise<void>((done) => child.on("exit", () => done()))
    const onData = (chunk: Buffer) => {
      output += chunk.toString()
      const match = /listening on (http:\/\/\S+)/.exec(output)
      if (match !== null) {
        child.stdout!.off("data", onData)
        resolve({
          url: match[1]!,
          cpu: () => cpuOf(child.pid),
          stop: () => {
            child.kill("SIGTERM")
            return exited
          }
        })
      }
    }
    child.stdout!.on("data", onData)
    child.stderr!.on("data", (chunk: Buffer) => (output += chunk.toString()))
    child.on("exit", (code) => reject(new Error(`${args.join(" ")} exited (${code}) before listening:\n${output}`)))
  })

/** Accounts that send, all members of the community; the first is its owner. */
const accounts = async (url: string, n: number) => {
  const register = (i: number) =>
    request(url, "POST", "/api/v1/auth/register", { username: `sender_${i}`, password: "benchmark passphrase" })
  // The owner first, alone: the first account of a fresh server is its owner.
  const tokens: Array<string> = [String((await register(0)).token)]
  // argon2id hashing is deliberately expensive: two at a time on a two-core machine
  for (let i = 1; i < n; i += 2) {
    const batch = Array.from({ length: Math.min(2, n - i) }, (_, j) => register(i + j))
    for (const r of await Promise.all(batch)) tokens.push(String(r.token))
  }
  return tokens
}

/** The 1, 5 and 15 minute load averages. */
const loadAverage = () => Os.loadavg().map((l) => l.toFixed(2)).join(", ")

const body = (sender: number, i: number) => JSON.stringify({ body: `message ${i} from sender ${sender}: hello, benchmark` })

const rows: Array<{ readonly server: string; readonly result: Result; readonly cpuPerMessage: number | undefined }> = []

/**
 * Runs one scenario. Besides what the client sees, the server's own CPU time per message over the
 * whole run (warm-up included): what the server costs, less disturbed by whatever else the machine
 * runs than throughput is.
 */
const scenario = async (name: string, server: Server, target: Target, senders: number) => {
  const before = server.cpu()
  const result = await load(target, senders, WARMUP_MS, MEASURE_MS)
  const after = server.cpu()
  const cpuPerMessage = before === undefined || after === undefined ? undefined : (after - before) / result.answered
  rows.push({ server: name, result, cpuPerMessage })
  console.log(`  ${name}, ${senders} sender(s): ${result.perSecond.toFixed(0)} messages/s`)
}

const main = async () => {
  const scratch = Fs.mkdtempSync(Path.join(Os.tmpdir(), "vox-send-bench-"))
  try {
    const rawDir = Path.join(scratch, "raw")
    const voxDir = Path.join(scratch, "vox")
    Fs.mkdirSync(rawDir)
    console.log(`send benchmark: ${MEASURE_MS / 1000} s per scenario, data in ${scratch}`)
    // Other processes on the machine move every number here: say how busy it was.
    console.log(`load average at the start: ${loadAverage()} (${Os.availableParallelism()} cores)`)

    const raw = await start(["--import", "tsx", "bench/rawServer.ts", rawDir])
    try {
      const target: Target = { url: raw.url, path: "/", body, headers: () => ({}), status: 201 }
      for (const senders of SENDERS) await scenario("raw ceiling (node:http + 1 SQLite insert)", raw, target, senders)
    } finally {
      await raw.stop()
    }

    const profile = PROFILE ? ["--cpu-prof", "--cpu-prof-dir", voxDir] : []
    const vox = await start([...profile, "bin/vox.js", "serve", "--port", "0", "--data-dir", voxDir])
    try {
      const tokens = await accounts(vox.url, Math.max(...SENDERS))
      const feed = await request(vox.url, "POST", "/api/v1/feeds", { name: "bench", type: "text" }, tokens[0])
      const target: Target = {
        url: vox.url,
        path: `/api/v1/feeds/${String(feed.feed_id)}/messages`,
        body,
        headers: (k) => ({ authorization: `Bearer ${tokens[k]!}` }),
        status: 201
      }
      for (const senders of SENDERS) await scenario("Vox (REST, production layers)", vox, target, senders)
    } finally {
      await vox.stop()
    }
    if (PROFILE) console.log(`CPU profile of the Vox server: ${voxDir}/*.cpuprofile`)

    console.log(`load average at the end: ${loadAverage()}`)
    const ceiling = new Map(rows.filter((r) => r.server.startsWith("raw")).map((r) => [r.result.senders, r.result.perSecond]))
    console.log("")
    console.table(rows.map(({ server, result, cpuPerMessage }) => ({
      server,
      senders: result.senders,
      "messages/s": Math.round(result.perSecond),
      "p50 ms": Number(result.p50.toFixed(2)),
      "p99 ms": Number(result.p99.toFixed(2)),
      failed: result.failed,
      "server CPU µs/msg": cpuPerMessage === undefined ? "n/a" : Math.round(cpuPerMessage),
      "of ceiling": `${((100 * result.perSecond) / (ceiling.get(result.senders) ?? NaN)).toFixed(0)}%`
    })))
  } finally {
    if (!PROFILE) Fs.rmSync(scratch, { recursive: true, force: true })
  }
}

await main()
