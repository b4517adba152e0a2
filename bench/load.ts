// A closed-loop HTTP load generator: N senders, each sending its next request as soon as the last one
// is answered, over keep-alive connections of its own. It measures what a client sees: answers per
// second and the latency of each request, from the first byte written to the last byte read.
import * as Http from "node:http"
import { performance } from "node:perf_hooks"

export interface Target {
  readonly url: string
  readonly path: string
  /** The body of the i-th request of a sender. */
  readonly body: (sender: number, i: number) => string
  readonly headers: (sender: number) => Record<string, string>
  /** The status a successful answer has. */
  readonly status: number
}

export interface Result {
  readonly senders: number
  /** Requests answered over the whole run, warm-up included. */
  readonly answered: number
  readonly ok: number
  readonly failed: number
  readonly seconds: number
  readonly perSecond: number
  readonly p50: number
  readonly p99: number
}

interface Answer {
  readonly status: number
  readonly text: string
}

const post = (agent: Http.Agent, url: URL, path: string, headers: Record<string, string>, body: string) =>
  new Promise<Answer>((resolve, reject) => {
    const request = Http.request({
      agent,
      host: url.hostname,
      port: url.port,
      method: "POST",
      path,
      headers: { "content-type": "application/json", "content-length": Buffer.byteLength(body), ...headers }
    }, (response) => {
      let text = ""
      response.setEncoding("utf8")
      response.on("data", (chunk: string) => (text += chunk))
      response.on("end", () => resolve({ status: response.statusCode ?? 0, text }))
      response.on("error", reject)
    })
    request.on("error", reject)
    request.end(body)
  })

/** The q-quantile (0..1) of sorted numbers. */
const quantile = (sorted: ReadonlyArray<number>, q: number) =>
  sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!

/**
 * `senders` loops for `warmupMs` (not counted: connections open, caches and the JIT warm up), then
 * for `measureMs`; every request that completes inside the measured window is counted.
 */
export const load = async (target: Target, senders: number, warmupMs: number, measureMs: number): Promise<Result> => {
  const url = new URL(target.url)
  const start = performance.now()
  const measureFrom = start + warmupMs
  const stopAt = measureFrom + measureMs
  const latencies: Array<number> = []
  let failed = 0
  let answered = 0
  let firstFailure: string | undefined
  const sender = async (k: number) => {
    const agent = new Http.Agent({ keepAlive: true, maxSockets: 1 })
    const headers = target.headers(k)
    for (let i = 0; performance.now() < stopAt; i++) {
      const t0 = performance.now()
      const answer = await post(agent, url, target.path, headers, target.body(k, i))
      const t1 = performance.now()
      answered++
      if (t0 < measureFrom || t1 > stopAt) continue
      if (answer.status === target.status) latencies.push(t1 - t0)
      else {
        failed++
        firstFailure ??= `${answer.status} ${answer.text}`
      }
    }
    agent.destroy()
  }
  await Promise.all(Array.from({ length: senders }, (_, k) => sender(k)))
  if (firstFailure !== undefined) console.error(`  ${failed} failed requests, the first: ${firstFailure}`)
  latencies.sort((a, b) => a - b)
  const seconds = measureMs / 1000
  return {
    senders,
    answered,
    ok: latencies.length,
    failed,
    seconds,
    perSecond: latencies.length / seconds,
    p50: quantile(latencies, 0.5),
    p99: quantile(latencies, 0.99)
  }
}

/** One JSON request (setup: registering accounts, creating a feed). */
export const request = async (baseUrl: string, method: string, path: string, body: unknown, token?: string) => {
  const response = await fetch(baseUrl + path, {
    method,
    headers: { "content-type": "application/json", ...(token === undefined ? {} : { authorization: `Bearer ${token}` }) },
    body: JSON.stringify(body)
  })
  const text = await response.text()
  if (!response.ok) return Promise.reject(new Error(`${method} ${path}: ${response.status} ${text}`))
  return JSON.parse(text) as Record<string, unknown>
}
