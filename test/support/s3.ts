// A real S3-compatible server for a suite: s3rver in this process, on a loopback port, keeping its
// objects in a scratch directory, with one bucket. It knows one account: access key S3RVER (and it
// checks only the key id of a SigV4 request, not the signature).
import { ListObjectsV2Command, S3Client } from "@aws-sdk/client-s3"
import { Context, Effect } from "effect"
import S3rver from "s3rver"
import type { VoxConfigFile } from "../../src/runtime/config/VoxConfig.js"
import { tempDir } from "./backends.js"

export const S3_BUCKET = "vox-files"
export const S3_ACCESS_KEY = "S3RVER"

export interface TestS3Shape {
  readonly endpoint: string
  /** `files` settings that store in this server's bucket. */
  readonly files: NonNullable<VoxConfigFile["files"]>
  /** Every key in the bucket, sorted. */
  readonly keys: Effect.Effect<ReadonlyArray<string>>
  /** How each object was written, in order: one PUT, or a multipart upload. */
  readonly writes: Effect.Effect<ReadonlyArray<{ readonly key: string; readonly how: "put" | "multipart" }>>
}

export class TestS3 extends Context.Tag("test/TestS3")<TestS3, TestS3Shape>() {}

export const startS3 = Effect.gen(function* () {
  const directory = yield* tempDir
  const server = new S3rver({ address: "127.0.0.1", port: 0, silent: true, directory, configureBuckets: [{ name: S3_BUCKET }] })
  const writes: Array<{ key: string; how: "put" | "multipart" }> = []
  server.on("event", (event) => {
    for (const record of event.Records) {
      if (record.eventName === "ObjectCreated:Put") writes.push({ key: record.s3.object.key, how: "put" })
      if (record.eventName === "ObjectCreated:Post") writes.push({ key: record.s3.object.key, how: "multipart" })
    }
  })
  const address = yield* Effect.acquireRelease(
    Effect.promise(() => server.run()),
    () => Effect.promise(() => server.close())
  )
  const endpoint = `http://127.0.0.1:${address.port}`
  const files = {
    storage: "s3",
    s3: { endpoint, region: "us-east-1", bucket: S3_BUCKET, accessKeyId: S3_ACCESS_KEY, secretAccessKey: S3_ACCESS_KEY, forcePathStyle: true }
  } as const
  const client = yield* Effect.acquireRelease(
    Effect.sync(() =>
      new S3Client({
        endpoint,
        region: "us-east-1",
        forcePathStyle: true,
        credentials: { accessKeyId: S3_ACCESS_KEY, secretAccessKey: S3_ACCESS_KEY }
      })
    ),
    (c) => Effect.sync(() => c.destroy())
  )
  const keys = Effect.promise(async () => {
    const listed = await client.send(new ListObjectsV2Command({ Bucket: S3_BUCKET }))
    return (listed.Contents ?? []).map((o) => o.Key!).sort()
  })
  return { endpoint, files, keys, writes: Effect.sync(() => [...writes]) } satisfies TestS3Shape
})
