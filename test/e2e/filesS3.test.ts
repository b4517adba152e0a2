// Files kept in an S3-compatible bucket (files.storage = "s3") end to end: uploads over the REST API land
// in a real S3 server's bucket (small ones in one streamed PUT, big ones in parts), come back byte for
// byte from it, leave nothing on the local disk, and are deleted from it with their feed; a bucket
// that does not exist or a refused key stops the server at startup with a sentence saying which.
// SQLite only: the database plays no part in where the bytes go.
import { describe, expect, layer } from "@effect/vitest"
import { Cause, Effect, Exit, Layer } from "effect"
import { createHash } from "node:crypto"
import * as Fs from "node:fs"
import * as Path from "node:path"
import * as Messages from "../../src/protocol/api/messages.js"
import * as Spaces from "../../src/protocol/api/spaces.js"
import { VoxConfig, type VoxConfigFile } from "../../src/runtime/config/VoxConfig.js"
import { VoxServerLive } from "../../src/runtime/VoxRuntime.js"
import { backends, tempDir } from "../support/backends.js"
import { download, PNG, staging, storedFiles, uploadFile } from "../support/files.js"
import { S3_ACCESS_KEY, startS3, TestS3 } from "../support/s3.js"
import { newUser, owner, TestServer, TestServerLive, uniqueName } from "../support/server.js"

const MiB = 1024 * 1024
const sqlite = backends.find((b) => b.name === "sqlite")!

const sha256 = (data: Uint8Array) => createHash("sha256").update(data).digest("hex")

/** Bytes that differ along the whole file, so a part out of place would show. */
const pattern = (size: number) => {
  const out = Buffer.alloc(size)
  for (let i = 0; i < size; i += 4) out.writeUInt32BE(i, i)
  return out
}

/** The S3 server, and a Vox server storing in its bucket (swept often, for the deletion test). */
const SuiteLive = Layer.unwrapScoped(
  Effect.map(startS3, (s3) =>
    Layer.merge(
      TestServerLive(sqlite, { files: { ...s3.files, sweepInterval: "100 millis" } }),
      Layer.succeed(TestS3, s3)
    ))
)

/** Files the server keeps on its own disk, staging folder aside: none when it stores in S3. */
const localFiles = Effect.map(TestServer, ({ settings }) => {
  const root = Path.join(settings.dataDir!, "files")
  return Fs.readdirSync(root, { recursive: true, encoding: "utf8" }).filter((p) => p !== "tmp" && !p.startsWith(`tmp${Path.sep}`))
})

const community = Effect.gen(function* () {
  const boss = yield* owner
  const member = yield* newUser("member")
  const feed = yield* boss.client.call(Spaces.createFeed, { body: { name: uniqueName("feed"), type: "text" } })
  return { boss, member, feed }
})

/** Polls `check` until it holds (the sweep runs in the background), failing after a few seconds. */
const eventually = <E, R>(check: Effect.Effect<boolean, E, R>) =>
  Effect.gen(function* () {
    for (let i = 0; i < 100; i++) {
      if (yield* check) return
      yield* Effect.sleep("50 millis")
    }
    expect.fail("not within 5 seconds")
  })

describe("files in an S3-compatible bucket", () => {
  layer(SuiteLive, { excludeTestServices: true })((it) => {
    it.effect("an upload is stored in the bucket and downloaded from it byte for byte", () =>
      Effect.gen(function* () {
        const s3 = yield* TestS3
        const { member, feed } = yield* community
        const text = "kept in a bucket\n"
        const created = yield* uploadFile(member.token, feed.feed_id, text, "note.txt")
        expect(created.status).toBe(201)
        const id: string = created.body.file_id
        expect(yield* s3.keys).toContain(id)
        expect((yield* s3.writes).filter((w) => w.key === id)).toEqual([{ key: id, how: "put" }])

        const got = yield* download(member.token, id)
        expect(got.status).toBe(200)
        expect(got.bytes.toString()).toBe(text)
        expect(got.headers.get("content-length")).toBe(String(Buffer.byteLength(text)))
        expect(got.headers.get("content-type")).toBe("text/plain; charset=utf-8")

        // an image: its cleaned bytes and its thumbnail, both in the bucket
        const image = yield* uploadFile(member.token, feed.feed_id, PNG, "dot.png")
        expect(image.status).toBe(201)
        expect(yield* s3.keys).toEqual(expect.arrayContaining([image.body.file_id, `${image.body.file_id}.thumb`]))
        const thumb = yield* download(member.token, `${image.body.file_id}/thumbnail`)
        expect(thumb.status).toBe(200)
        expect(thumb.headers.get("content-type")).toBe("image/webp")

        expect(yield* localFiles).toEqual([])
        expect(yield* staging).toEqual([])
      }))

    it.effect("a file above the multipart threshold goes up in parts and comes back whole", () =>
      Effect.gen(function* () {
        const s3 = yield* TestS3
        const { member, feed } = yield* community
        const big = pattern(19 * MiB)
        const created = yield* uploadFile(member.token, feed.feed_id, big, "big.bin")
        expect(created.status).toBe(201)
        expect(created.body.size).toBe(big.length)
        expect(yield* s3.keys).toContain(created.body.file_id)
        expect((yield* s3.writes).filter((w) => w.key === created.body.file_id)).toEqual([{ key: created.body.file_id, how: "multipart" }])

        const got = yield* download(member.token, created.body.file_id)
        expect(got.status).toBe(200)
        expect(got.bytes.length).toBe(big.length)
        expect(sha256(got.bytes)).toBe(sha256(big))
        expect((yield* storedFiles).find((f) => f.id === created.body.file_id)?.sha256).toBe(sha256(big))
        expect(yield* localFiles).toEqual([])
      }), { timeout: 60_000 })

    it.effect("deleting the feed whose message carries a file deletes its objects from the bucket", () =>
      Effect.gen(function* () {
        const s3 = yield* TestS3
        const { boss, member, feed } = yield* community
        const image = yield* uploadFile(member.token, feed.feed_id, PNG, "gone.png")
        const id: string = image.body.file_id
        yield* member.client.call(Messages.sendMessage, { params: { feed_id: feed.feed_id }, body: { body: "", attachments: [id] } })
        // carried by a message: the sweeps leave it alone
        yield* Effect.sleep("300 millis")
        expect(yield* s3.keys).toEqual(expect.arrayContaining([id, `${id}.thumb`]))

        yield* boss.client.call(Spaces.deleteFeed, { params: { feed_id: feed.feed_id } })
        yield* eventually(Effect.map(s3.keys, (keys) => !keys.includes(id) && !keys.includes(`${id}.thumb`)))
        expect((yield* download(member.token, id)).status).toBe(404)
        expect((yield* storedFiles).some((f) => f.id === id)).toBe(false)
      }))
  })

  /** The error that stops a server with these `files` settings from starting. */
  const startupFailure = (files: NonNullable<VoxConfigFile["files"]>) =>
    Effect.gen(function* () {
      const dataDir = yield* tempDir
      const exit = yield* Effect.exit(Layer.build(VoxServerLive(VoxConfig.layerTest({
        dataDir,
        http: { host: "127.0.0.1", port: 0 },
        log: { level: "none" },
        files
      }))))
      expect(Exit.isFailure(exit)).toBe(true)
      const error = Exit.isFailure(exit) ? Cause.squash(exit.cause) : undefined
      return error instanceof Error ? error.message : String(error)
    }).pipe(Effect.scoped)

  layer(Layer.scoped(TestS3, startS3), { excludeTestServices: true })((it) => {
    it.effect("a bucket that does not exist, or a key the server refuses, stops the server at startup", () =>
      Effect.gen(function* () {
        const s3 = yield* TestS3
        const noBucket = yield* startupFailure({ ...s3.files, s3: { ...s3.files.s3, bucket: "no-such-bucket" } })
        expect(noBucket).toContain(`the bucket "no-such-bucket" does not exist at ${s3.endpoint}`)

        const badKey = yield* startupFailure({ ...s3.files, s3: { ...s3.files.s3, accessKeyId: "NOT-" + S3_ACCESS_KEY } })
        expect(badKey).toContain(`refused access to the bucket`)
        expect(badKey).toContain("files.s3.accessKeyId")

        const unreachable = yield* startupFailure({ ...s3.files, s3: { ...s3.files.s3, endpoint: "http://127.0.0.1:1" } })
        expect(unreachable).toContain("http://127.0.0.1:1")
        expect(unreachable).toContain("could not be reached")
      }), { timeout: 60_000 })

    it.effect("files.storage = s3 without a bucket, or with half a key pair, is a configuration error", () =>
      Effect.gen(function* () {
        const read = (files: NonNullable<VoxConfigFile["files"]>) =>
          Effect.flip(Effect.provide(VoxConfig, VoxConfig.layer({ env: {}, flags: { files } })))
        expect(yield* read({ storage: "s3" })).toMatchObject({ setting: "files.s3.bucket" })
        const half = yield* read({ storage: "s3", s3: { bucket: "b", accessKeyId: "k" } })
        expect(half).toMatchObject({ setting: "files.s3.secretAccessKey" })
        expect(half.message).toContain("or neither")
        const badStorage = yield* Effect.flip(Effect.provide(VoxConfig, VoxConfig.layer({ env: { VOX_FILES_STORAGE: "ftp" } })))
        expect(badStorage).toMatchObject({ setting: "files.storage" })
      }))
  })
})
