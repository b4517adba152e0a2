// The gateway benchmark of issue 5 (run by `npm run bench`): one Vox node, 1 000 and 10 000 gateway
// clients in one feed, one poster. It reports delivered events per second, the latency from the POST to
// each client's receipt (p50/p99), and the server's memory per connection, next to the raw ceiling of
// the same machine: a bare `ws` server broadcasting the same frame, serialised once, to the same
// clients (bench/gatewayRaw.ts).
//
// Both servers run as child processes (Vox exactly as `vox serve` runs it, on SQLite in a fresh data
// dir); this process holds every client and the poster, so the clients' CPU is not the server's. The
// clients are bare `ws` sockets that IDENTIFY and then only look for the step number in each frame:
// parsing ten thousand JSON frames per message would measure the load generator, not the server.
//
// Each scenario has two closed-loop passes. Throughput: the poster keeps SATURATE messages not yet
// delivered to every client, so the server always has fan-out to do (delivered events/s, server CPU).
// Latency: one message at a time, so the time from the POST to each receipt is the fan-out itself, not
// a queue behind earlier messages (p50/p99). A closed loop never builds an unbounded backlog.
//
// Environment: GATEWAY_BENCH_CLIENTS (default "1000,10000"), GATEWAY_BENCH_USERS (members the
// connections belong to, default 100: each registration costs an argon2id hash), GATEWAY_BENCH_SECONDS
// (measured seconds per scenario, default 10), GATEWAY_BENCH_ZSTD=0 (skip the compress=zstd row),
// GATEWAY_BENCH_PROFILE=1 (the Vox server writes a CPU profile into its data dir when it exits).
import { type ChildProcess, spawn, spawnSync } from "node:child_process"
import * as Fs from "node:fs"
import * as Http from "node:http"
import * as Os from "node:os"
import * as Path from "node:path"
import WebSocket from "ws"
import { gatewayUrl } from "../src/client/GatewayClient.js"
import { makeZstdReader } from "../src/client/zstdReader.js"
import { Op } from "../src/protocol/gateway.js"

const root = Path.resolve(import.meta.dirname, "..")
const CLIENTS = (process.env.GATEWAY_BENCH_CLIENTS ?? "1000,10000").split(",").map(Number)
const USERS = Number(process.env.GATEWAY_BENCH_USERS ?? "100")
const MEASURE_MS = Number(process.env.GATEWAY_BENCH_SECONDS ?? "10") * 1000
const WITH_ZSTD = process.env.GATEWAY_BENCH_ZSTD !== "0"
const PROFILE = process.env.GATEWAY_BENCH_PROFILE === "1"
const WARMUP_MESSAGES = 20
/** Messages in flight during the throughput pass. */
const SATURATE = 16
const CONNECTING_AT_ONCE = 200
/** How long a message may take to reach everyone before the scenario is declared stalled. */
const STALL_MS = 60_000

// --- file descriptors: every client is a socket here and a socket in the server ---

const needed = Math.max(...CLIENTS) + 1_000
const openFiles = () => {
  const match = /Max open files\s+(\S+)\s+(\S+)/.exec(Fs.readFileSync("/proc/self/limits", "utf8"))
  const value = (s: string | undefined) => (s === undefined || s === "unlimited" ? Infinity : Number(s))
  return { soft: value(match?.[1]), hard: value(match?.[2]) }
}
const limit = openFiles()
if (limit.soft < needed && limit.hard >= needed && process.env.GATEWAY_BENCH_REEXEC === undefined) {
  // Node cannot raise its own limit: run again under a shell that does (the servers inherit it).
  const args = [...process.execArgv, ...process.argv.slice(1)]
  const shell = spawnSync("sh", ["-c", `ulimit -n ${needed} && exec "$0" "$@"`, process.execPath, ...args], {
    stdio: "inherit",
    env: { ...process.env, GATEWAY_BENCH_REEXEC: "1" }
  })
  process.exit(shell.status ?? 1)
}
if (limit.soft < needed) {
  console.error(`gateway benchmark: ${needed} open files needed, the limit is ${limit.soft} (hard ${limit.hard}); ` +
    `raise it (ulimit -n) or lower GATEWAY_BENCH_CLIENTS`)
  process.exit(1)
}

// --- servers ---

interface Server {
  readonly url: string
  readonly pid: number
  readonly stop: () => Promise<void>
}

const UNLIMITED = {
  VOX_RATE_LIMITS_MESSAGE_SEND_REQUESTS: "1000000000",
  VOX_RATE_LIMITS_AUTH_REQUESTS: "1000000",
  VOX_RATE_LIMITS_GATEWAY_EVENTS_REQUESTS: "1000000000",
  // the clients send no heartbeats: they would only add noise to what is measured
  VOX_GATEWAY_HEARTBEAT_INTERVAL: "30 minutes"
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
        child.stdout!.resume()
        resolve({
          url: match[1]!,
          pid: child.pid!,
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

/** Resident memory of a process, in bytes (Linux). */
const rss = (pid: number) => {
  const match = /VmRSS:\s+(\d+) kB/.exec(Fs.readFileSync(`/proc/${pid}/status`, "utf8"))
  return Number(match?.[1] ?? NaN) * 1024
}

const TICKS_PER_SECOND = 100
/** CPU seconds a process has used (Linux: utime + stime from /proc/<pid>/stat). */
const cpuSeconds = (pid: number) => {
  const stat = Fs.readFileSync(`/proc/${pid}/stat`, "utf8")
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ")
  return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND
}

const now = () => performance.now()
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

const jsonRequest = async (baseUrl: string, method: string, path: string, body: unknown, token?: string) => {
  const response = await fetch(baseUrl + path, {
    method,
    headers: { "content-type": "application/json", ...(token === undefined ? {} : { authorization: `Bearer ${token}` }) },
    body: JSON.stringify(body)
  })
  const text = await response.text()
  if (!response.ok) return Promise.reject(new Error(`${method} ${path}: ${response.status} ${text}`))
  return JSON.parse(text) as Record<string, unknown>
}

/** A poster on keep-alive connections (one per message in flight): POSTs `{body}` and resolves when answered. */
const makePoster = (baseUrl: string, path: string, token: string | null) => {
  const url = new URL(baseUrl)
  const agent = new Http.Agent({ keepAlive: true, maxSockets: SATURATE })
  return {
    post: (body: string) =>
      new Promise<void>((resolve, reject) => {
        const payload = JSON.stringify({ body })
        const request = Http.request({
          agent,
          host: url.hostname,
          port: url.port,
          method: "POST",
          path,
          headers: {
            "content-type": "application/json",
            "content-length": Buffer.byteLength(payload),
            ...(token === null ? {} : { authorization: `Bearer ${token}` })
          }
        }, (response) => {
          let text = ""
          response.on("data", (chunk: Buffer) => (text += chunk.toString()))
          response.on("end", () => (response.statusCode === 201 ? resolve() : reject(new Error(`${response.statusCode}: ${text}`))))
        })
        request.on("error", reject)
        request.end(payload)
      }),
    close: () => agent.destroy()
  }
}

// --- clients ---

/** Every posted body starts with `#<step>#`; a client finds the step without parsing the frame. */
const MARK = '"body":"#'
const MARK_BYTES = Buffer.from(MARK)
const stepInBuffer = (data: Buffer) => {
  const at = data.indexOf(MARK_BYTES)
  if (at < 0) return -1
  let step = 0
  for (let i = at + MARK_BYTES.length; i < data.length; i++) {
    const digit = data[i]! - 48
    if (digit < 0 || digit > 9) return step
    step = step * 10 + digit
  }
  return -1
}
const stepInText = (text: string) => {
  const at = text.indexOf(MARK)
  return at < 0 ? -1 : parseInt(text.slice(at + MARK.length, at + MARK.length + 12), 10)
}

/** Called for every message a client receives with a step in it. */
let arrived: (step: number) => void = () => {}

/** One client: connects, identifies, resolves once READY; then reports every step it receives. */
const connectClient = (url: string, token: string, compress: boolean) =>
  new Promise<WebSocket>((resolve, reject) => {
    const ws = new WebSocket(url, { perMessageDeflate: false })
    ws.binaryType = "nodebuffer"
    const reader = compress ? makeZstdReader() : null
    let ready = false
    ws.on("open", () => ws.send(JSON.stringify({ op: Op.IDENTIFY, d: { token } })))
    ws.on("message", (data: Buffer) => {
      if (reader === null) {
        if (ready) {
          const step = stepInBuffer(data)
          if (step >= 0) arrived(step)
        } else if (data.includes('"t":"READY"')) {
          ready = true
          resolve(ws)
        }
        return
      }
      const text = reader.decompress(data)
      if (ready) {
        const step = stepInText(text)
        if (step >= 0) arrived(step)
      } else if (text.includes('"t":"READY"')) {
        ready = true
        resolve(ws)
      }
    })
    ws.on("error", reject)
    ws.on("close", (code) => {
      if (!ready) reject(new Error(`closed with ${code} before READY`))
      else if (connected.has(ws)) lost++
    })
  })

const connected = new Set<WebSocket>()
let lost = 0

const connectAll = async (url: string, n: number, tokens: ReadonlyArray<string>, compress: boolean) => {
  let next = 0
  const worker = async () => {
    for (let i = next++; i < n; i = next++) connected.add(await connectClient(url, tokens[i % tokens.length]!, compress))
  }
  await Promise.all(Array.from({ length: CONNECTING_AT_ONCE }, worker))
}

const disconnectAll = async () => {
  const all = [...connected]
  connected.clear()
  for (const ws of all) ws.terminate()
  await sleep(2_000)
}

// --- one scenario: connect, warm up, measure ---

interface Row {
  readonly server: string
  readonly clients: number
  readonly connectSeconds: number
  readonly rssBytes: number
  readonly bytesPerConnection: number
  readonly eventsPerSecond: number
  readonly p50: number
  readonly p99: number
  /** p99 during the throughput pass: mostly the queue of messages in flight */
  readonly saturatedP99: number
  readonly serverCpu: number
  readonly clientCpu: number
  readonly lost: number
}

const quantile = (sorted: Float64Array, q: number) => (sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!)

/** Posts WARMUP_MESSAGES, then posts for MEASURE_MS, never more than `window` messages ahead of delivery. */
const drive = async (n: number, post: (body: string) => Promise<void>, window: number) => {
  const postedAt: Array<number> = []
  const counts: Array<number> = []
  let completed = 0
  let deliveries = 0
  let wake: (() => void) | null = null
  let measureFrom = Infinity
  let measureTo = Infinity
  const latencies: Array<number> = []
  arrived = (step) => {
    const at = now()
    deliveries++
    if (step >= measureFrom && step < measureTo) latencies.push(at - postedAt[step]!)
    if (++counts[step]! === n) {
      completed++
      wake?.()
    }
  }
  const until = async (done: () => boolean) => {
    const deadline = now() + STALL_MS
    while (!done()) {
      if (now() > deadline) return Promise.reject(new Error(`delivery stalled: ${completed} messages reached all ${n} clients, ${counts.length} posted`))
      await new Promise<void>((resolve) => {
        wake = resolve
        setTimeout(resolve, 1_000)
      })
      wake = null
    }
  }
  let step = 0
  let failure: unknown = null
  // The poster does not wait for an answer before the next POST, only for the window: the round trip
  // of one request must not be what limits the rate.
  const postNext = async () => {
    await until(() => step - completed < window || failure !== null)
    if (failure !== null) return Promise.reject(failure)
    const s = step++
    counts[s] = 0
    postedAt[s] = now()
    post(`#${s}# a message to everyone in the feed, from the benchmark's poster`).catch((error: unknown) => {
      failure = error
      wake?.()
    })
  }
  while (step < WARMUP_MESSAGES) await postNext()
  measureFrom = step
  const startedAt = now()
  const deliveriesBefore = deliveries
  while (now() - startedAt < MEASURE_MS) await postNext()
  measureTo = step
  const seconds = (now() - startedAt) / 1000
  const eventsPerSecond = (deliveries - deliveriesBefore) / seconds
  await until(() => completed === step)
  arrived = () => {}
  const sorted = Float64Array.from(latencies).sort()
  return { eventsPerSecond, p50: quantile(sorted, 0.5), p99: quantile(sorted, 0.99), seconds }
}

const rows: Array<Row> = []

const scenario = async (
  name: string,
  server: Server,
  n: number,
  connect: () => Promise<void>,
  post: (body: string) => Promise<void>
) => {
  const memoryBefore = rss(server.pid)
  const connectStart = now()
  lost = 0
  await connect()
  const connectSeconds = (now() - connectStart) / 1000
  await sleep(1_000)
  const memoryAfter = rss(server.pid)
  const serverCpuBefore = cpuSeconds(server.pid)
  const clientCpuBefore = process.cpuUsage()
  const saturated = await drive(n, post, SATURATE)
  const serverCpu = (cpuSeconds(server.pid) - serverCpuBefore) / saturated.seconds
  const clientUsage = process.cpuUsage(clientCpuBefore)
  const alone = await drive(n, post, 1)
  const row: Row = {
    server: name,
    clients: n,
    connectSeconds,
    rssBytes: memoryAfter,
    bytesPerConnection: (memoryAfter - memoryBefore) / n,
    eventsPerSecond: saturated.eventsPerSecond,
    p50: alone.p50,
    p99: alone.p99,
    saturatedP99: saturated.p99,
    serverCpu,
    clientCpu: (clientUsage.user + clientUsage.system) / 1e6 / saturated.seconds,
    lost
  }
  rows.push(row)
  console.log(`  ${name}, ${n} clients: ${Math.round(row.eventsPerSecond)} events/s, p50 ${row.p50.toFixed(1)} ms, ` +
    `p99 ${row.p99.toFixed(1)} ms, ${(row.bytesPerConnection / 1024).toFixed(1)} KiB/connection (connected in ${connectSeconds.toFixed(1)} s)`)
  await disconnectAll()
}

// --- the run ---

const main = async () => {
  const scratch = Fs.mkdtempSync(Path.join(Os.tmpdir(), "vox-gateway-bench-"))
  const voxDir = Path.join(scratch, "vox")
  console.log(`gateway benchmark: ${CLIENTS.join(" and ")} clients, ${USERS} members, ${MEASURE_MS / 1000} s per scenario, ` +
    `${SATURATE} messages in flight for throughput, 1 for latency; servers in child processes, clients and poster in this one`)
  const raw = await start(["--import", "tsx", "bench/gatewayRaw.ts"])
  const profile = PROFILE ? ["--cpu-prof", "--cpu-prof-dir", voxDir] : []
  const vox = await start([...profile, "bin/vox.js", "serve", "--port", "0", "--data-dir", voxDir])
  try {
    console.log(`  registering ${USERS} members...`)
    const tokens: Array<string> = []
    // argon2id hashing is deliberately expensive: two at a time on a two-core machine, after the first
    // alone (the first account is the owner, who creates the feed and posts)
    for (let i = 0; i < USERS; i += i === 0 ? 1 : 2) {
      const batch = Array.from({ length: i === 0 ? 1 : Math.min(2, USERS - i) }, (_, j) =>
        jsonRequest(vox.url, "POST", "/api/v1/auth/register", { username: `member_${i + j}`, password: "benchmark passphrase" }))
      for (const r of await Promise.all(batch)) tokens.push(String(r.token))
    }
    const feed = await jsonRequest(vox.url, "POST", "/api/v1/feeds", { name: "everyone", type: "text" }, tokens[0])
    const voxPoster = makePoster(vox.url, `/api/v1/feeds/${String(feed.feed_id)}/messages`, tokens[0]!)
    const rawPoster = makePoster(raw.url, "/", null)
    const rawUrl = gatewayUrl(raw.url)

    for (const n of CLIENTS) {
      await scenario("raw ws broadcast", raw, n, () => connectAll(rawUrl, n, ["-"], false), rawPoster.post)
      await scenario("Vox gateway", vox, n, () => connectAll(gatewayUrl(vox.url), n, tokens, false), voxPoster.post)
      if (WITH_ZSTD && n === Math.min(...CLIENTS)) {
        await scenario("Vox gateway, zstd", vox, n, () => connectAll(gatewayUrl(vox.url, true), n, tokens, true), voxPoster.post)
      }
    }
    voxPoster.close()
    rawPoster.close()
  } finally {
    await Promise.all([raw.stop(), vox.stop()])
    if (PROFILE) console.log(`CPU profile of the Vox server: ${voxDir}/*.cpuprofile`)
    else Fs.rmSync(scratch, { recursive: true, force: true })
  }

  const ceiling = new Map(rows.filter((r) => r.server.startsWith("raw")).map((r) => [r.clients, r]))
  console.log("")
  console.table(rows.map((r) => ({
    server: r.server,
    clients: r.clients,
    "events/s": Math.round(r.eventsPerSecond),
    "of raw": `${((100 * r.eventsPerSecond) / (ceiling.get(r.clients)?.eventsPerSecond ?? NaN)).toFixed(0)}%`,
    "p50 ms": Number(r.p50.toFixed(1)),
    "p99 ms": Number(r.p99.toFixed(1)),
    "p99 / raw": Number((r.p99 / (ceiling.get(r.clients)?.p99 ?? NaN)).toFixed(2)),
    "loaded p99": Math.round(r.saturatedP99),
    "server MiB": Math.round(r.rssBytes / 2 ** 20),
    "KiB/conn": Number((r.bytesPerConnection / 1024).toFixed(1)),
    "server CPU": `${Math.round(100 * r.serverCpu)}%`,
    "client CPU": `${Math.round(100 * r.clientCpu)}%`,
    "connect s": Number(r.connectSeconds.toFixed(1)),
    lost: r.lost
  })))
  console.log(`events/s: frames received per second by all clients together, ${SATURATE} messages in flight (server and ` +
    "client CPU: during that pass); p50/p99: from writing the POST to a client's receipt, one message at a time; loaded p99: " +
    "the same during the throughput pass; KiB/conn: the server's resident memory with the clients connected, less before, per client.")
  console.log(`machine: ${Os.cpus().length} cores, load average ${Os.loadavg().map((l) => l.toFixed(1)).join(" ")}`)
}

await main()
