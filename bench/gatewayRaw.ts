// The raw ceiling of the gateway benchmark: a bare `ws` server that broadcasts each POSTed message to
// every connected client, the frame serialised once into one buffer for all of them. Nothing else: no
// authentication, no audience, no sequence numbers of their own, no log. A client "identifies" with any
// frame and is answered READY, so the load generator speaks to it exactly as to Vox. Started as a child
// process by bench/gateway.ts, it prints "listening on <url>" like `vox serve`.
import * as Http from "node:http"
import { WebSocketServer, type WebSocket } from "ws"

const clients = new Set<WebSocket>()
let sequence = 0

/** A message in the shape of Vox's MESSAGE_CREATE payload, so the frames weigh the same. */
const chatMessage = (body: string) => ({
  msg_id: String(1_300_000_000_000_000_000n + BigInt(++sequence)),
  feed_id: 2,
  thread_id: null,
  author_id: 1,
  body,
  timestamp: Math.floor(Date.now() / 1000),
  reply_to: null,
  mentions: [],
  embeds: [],
  attachments: [],
  components: [],
  edit_timestamp: null,
  pinned: false,
  reactions: [],
  federated: false,
  author_address: null
})

const server = Http.createServer((request, response) => {
  const chunks: Array<Buffer> = []
  request.on("data", (chunk: Buffer) => chunks.push(chunk))
  request.on("end", () => {
    const { body } = JSON.parse(Buffer.concat(chunks).toString("utf8")) as { body: string }
    // msg_id travels as a bare number in Vox; the template's string is unquoted to match
    const frame = Buffer.from(
      JSON.stringify({ op: 0, t: "MESSAGE_CREATE", s: sequence + 1, d: chatMessage(body) }).replace(/"msg_id":"(\d+)"/, '"msg_id":$1')
    )
    response.writeHead(201, { "content-type": "application/json; charset=utf-8" })
    response.end(`{"msg_id":${sequence}}`)
    for (const ws of clients) ws.send(frame, { binary: false })
  })
})

const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false })
server.on("upgrade", (request, socket, head) => {
  wss.handleUpgrade(request, socket, head, (ws) => {
    ws.send('{"op":4,"d":{"heartbeat_interval":1800000}}')
    ws.once("message", () => {
      clients.add(ws)
      ws.send('{"op":0,"t":"READY","s":1,"d":{}}')
    })
    ws.on("close", () => clients.delete(ws))
  })
})

server.listen(0, "127.0.0.1", () => {
  const address = server.address() as { port: number }
  console.log(`raw gateway ceiling is listening on http://127.0.0.1:${address.port}`)
})
process.on("SIGTERM", () => {
  for (const ws of clients) ws.terminate()
  server.close(() => process.exit(0))
})
