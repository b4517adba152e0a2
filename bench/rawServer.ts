// The raw ceiling of the send benchmark: a bare node:http server doing one durable SQLite insert per
// request, with the pragmas of Vox's own database (src/runtime/db/Database.ts: WAL, synchronous=FULL,
// foreign keys on). Nothing else: no authentication, no validation, no events, no batching. Started
// as a child process by bench/send.ts, it prints "listening on <url>" like `vox serve`.
import * as Http from "node:http"
import { createRequire } from "node:module"
import * as Path from "node:path"

/** The little of better-sqlite3 used here (the package ships no types; @effect/sql-sqlite-node wraps it). */
interface Database {
  pragma(source: string): unknown
  exec(source: string): void
  prepare(source: string): { run(...params: ReadonlyArray<unknown>): { lastInsertRowid: number | bigint } }
  close(): void
}
const Sqlite = createRequire(import.meta.url)("better-sqlite3") as new (filename: string) => Database

const dataDir = process.argv[2] ?? process.exit(2)

const db = new Sqlite(Path.join(dataDir, "raw.db"))
db.pragma("journal_mode = WAL")
db.pragma("synchronous = FULL")
db.pragma("foreign_keys = ON")
db.pragma("busy_timeout = 10000")
db.exec(`CREATE TABLE IF NOT EXISTS messages (
  id INTEGER PRIMARY KEY,
  feed_id INTEGER NOT NULL,
  author_id INTEGER NOT NULL,
  body TEXT NOT NULL,
  created_at INTEGER NOT NULL
)`)
// Each run is its own autocommit transaction: one commit (one fsync of the WAL) per message.
const insert = db.prepare("INSERT INTO messages (feed_id, author_id, body, created_at) VALUES (?, ?, ?, ?)")

const server = Http.createServer((request, response) => {
  const chunks: Array<Buffer> = []
  request.on("data", (chunk: Buffer) => chunks.push(chunk))
  request.on("end", () => {
    const { body } = JSON.parse(Buffer.concat(chunks).toString("utf8")) as { body: string }
    const now = Date.now()
    const { lastInsertRowid } = insert.run(1, 1, body, now)
    const answer = JSON.stringify({ msg_id: Number(lastInsertRowid), timestamp: Math.floor(now / 1000) })
    response.writeHead(201, { "content-type": "application/json; charset=utf-8" })
    response.end(answer)
  })
})

server.listen(0, "127.0.0.1", () => {
  const address = server.address() as { port: number }
  console.log(`raw ceiling is listening on http://127.0.0.1:${address.port}`)
})
process.on("SIGTERM", () => server.close(() => { db.close(); process.exit(0) }))
