// The file store in an S3-compatible bucket (AWS S3, MinIO, Ceph, R2, ...). Uploads are staged on the
// local disk as with the local store (they are checked, typed and cleaned there), then streamed to the
// bucket on commit: in one request up to MULTIPART_THRESHOLD, in parts above it, so at most
// PART_SIZE × PART_QUEUE bytes of a file are in memory. A download streams from the bucket. Objects are
// named `<id>` and `<id>.thumb`, from server-issued ids only (checked again here).
//
// The bucket is checked at startup: a bucket that does not exist or refused credentials stop the
// server with a sentence saying which, instead of failing every upload later.
import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  PutObjectCommand,
  S3Client
} from "@aws-sdk/client-s3"
import { Upload } from "@aws-sdk/lib-storage"
import { NodeStream } from "@effect/platform-node"
import { Effect, Layer, Option, Redacted, Stream } from "effect"
import * as Fs from "node:fs"
import * as Fsp from "node:fs/promises"
import * as Path from "node:path"
import type { Readable } from "node:stream"
import { FILE_ID_PATTERN, type FileId } from "../../protocol/api/files.js"
import { VoxConfig, type VoxConfigShape } from "../config/VoxConfig.js"
import {
  FileStore,
  FileStoreError,
  type FileStoreShape,
  FileStoreUnavailable,
  type FileVariant,
  type StagedFile
} from "./FileStore.js"
import { makeStaging } from "./staging.js"

const MiB = 1024 * 1024
/** Files up to this size go in one streamed PUT; larger ones as a multipart upload. */
export const MULTIPART_THRESHOLD = 8 * MiB
const PART_SIZE = 8 * MiB
/** Parts uploaded at once (each is buffered while it is sent). */
const PART_QUEUE = 2

export type S3Settings = VoxConfigShape["files"]["s3"]

const attempt = <A>(operation: string, run: (signal: AbortSignal) => Promise<A>) =>
  Effect.tryPromise({ try: run, catch: (cause) => new FileStoreError({ operation, cause }) })

const statusOf = (e: unknown): number | undefined =>
  typeof e === "object" && e !== null && "$metadata" in e
    ? (e.$metadata as { httpStatusCode?: number }).httpStatusCode
    : undefined

const nameOf = (e: unknown) => (e instanceof Error ? e.name : String(e))

const keyOf = (id: FileId, variant: FileVariant) =>
  FILE_ID_PATTERN.test(id)
    ? Effect.succeed(variant === "original" ? id : `${id}.thumb`)
    : Effect.die(new Error(`not a file id: ${JSON.stringify(id)}`))

/** Why the bucket cannot be used, in a sentence an operator can act on. */
const describeUnavailable = (settings: S3Settings, bucket: string, e: unknown) => {
  const where = Option.match(settings.endpoint, { onNone: () => `AWS S3 (${settings.region})`, onSome: (u) => u.toString() })
  const status = statusOf(e)
  const reason = status === 404
    ? `the bucket "${bucket}" does not exist at ${where}`
    : status === 403 || status === 401
    ? `${where} refused access to the bucket "${bucket}" (${nameOf(e)}): check files.s3.accessKeyId and ` +
      `files.s3.secretAccessKey, and that they may read and write the bucket`
    : status === 301
    ? `the bucket "${bucket}" is not in the region ${settings.region} (files.s3.region)`
    : `${where} could not be reached or answered with an error (${status === undefined ? "" : `${status} `}${nameOf(e)}: ${
      e instanceof Error ? e.message : String(e)
    })`
  return new FileStoreUnavailable({ message: `The file store (files.storage = "s3") cannot be used: ${reason}.` })
}

export const makeS3FileStore = (settings: S3Settings, stagingDir: string) =>
  Effect.gen(function* () {
    const bucket = Option.getOrThrowWith(settings.bucket, () => new Error("files.s3.bucket is required (config checks it)"))
    const credentials = Option.all({ accessKeyId: settings.accessKeyId, secretAccessKey: settings.secretAccessKey })
    const client = yield* Effect.acquireRelease(
      Effect.sync(() =>
        new S3Client({
          region: settings.region,
          ...Option.match(settings.endpoint, { onNone: () => ({}), onSome: (u) => ({ endpoint: u.toString() }) }),
          forcePathStyle: settings.forcePathStyle,
          ...Option.match(credentials, {
            onNone: () => ({}),
            onSome: (c) => ({ credentials: { accessKeyId: c.accessKeyId, secretAccessKey: Redacted.value(c.secretAccessKey) } })
          }),
          // Checksums only where S3 demands them: many S3-compatible servers do not understand the
          // trailing checksums the SDK would otherwise send with every streamed body.
          requestChecksumCalculation: "WHEN_REQUIRED",
          responseChecksumValidation: "WHEN_REQUIRED",
          requestHandler: { connectionTimeout: 10_000 }
        })
      ),
      (c) => Effect.sync(() => c.destroy())
    )

    yield* Effect.tryPromise({
      try: (signal) => client.send(new HeadBucketCommand({ Bucket: bucket }), { abortSignal: signal }),
      catch: (e) => describeUnavailable(settings, bucket, e)
    })

    const stage = yield* makeStaging(stagingDir)

    const put = async (body: Readable, key: string, size: number, signal: AbortSignal) => {
      const params = { Bucket: bucket, Key: key, Body: body, ContentLength: size }
      if (size <= MULTIPART_THRESHOLD) {
        await client.send(new PutObjectCommand(params), { abortSignal: signal })
        return
      }
      const upload = new Upload({
        client,
        params,
        partSize: PART_SIZE,
        queueSize: PART_QUEUE,
        // a failed upload's parts are deleted, not left behind in the bucket
        leavePartsOnError: false
      })
      const abort = () => void upload.abort()
      signal.addEventListener("abort", abort, { once: true })
      try {
        await upload.done()
      } finally {
        signal.removeEventListener("abort", abort)
      }
    }

    const commit = (staged: StagedFile, id: FileId, variant: FileVariant) =>
      Effect.flatMap(keyOf(id, variant), (key) =>
        attempt("commit", async (signal) => {
          const { size } = await Fsp.stat(staged.path)
          const body = Fs.createReadStream(staged.path)
          try {
            await put(body, key, size, signal)
          } finally {
            body.destroy()
          }
        }))

    // Like the local store's stat then read: the object's size now, its bytes once the response is sent.
    const open = (id: FileId, variant: FileVariant) =>
      Effect.flatMap(keyOf(id, variant), (key) =>
        Effect.tryPromise({
          try: (signal) => client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }), { abortSignal: signal }),
          catch: (cause) => cause
        }).pipe(
          Effect.map((head) => Option.some({ size: head.ContentLength ?? 0, content: read(key) })),
          Effect.catchAll((cause) =>
            statusOf(cause) === 404 ? Effect.succeedNone : Effect.fail(new FileStoreError({ operation: "open", cause }))
          )
        ))

    const read = (key: string) =>
      Stream.unwrap(
        Effect.map(
          attempt("read", (signal) => client.send(new GetObjectCommand({ Bucket: bucket, Key: key }), { abortSignal: signal })),
          (object) =>
            NodeStream.fromReadable(
              () => object.Body as Readable,
              (cause) => new FileStoreError({ operation: "read", cause })
            )
        )
      )

    const remove = (id: FileId) =>
      Effect.forEach(["original", "thumbnail"] as const, (variant) =>
        Effect.flatMap(keyOf(id, variant), (key) =>
          attempt("remove", (signal) => client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }), { abortSignal: signal }))), {
        discard: true
      })

    return { stage, commit, open, remove } satisfies FileStoreShape
  })

/** The store in the bucket `files.s3`, staging under `<dataDir>/files/tmp`. */
export const S3FileStoreLive = Layer.scoped(
  FileStore,
  Effect.flatMap(VoxConfig, (config) =>
    makeS3FileStore(config.files.s3, Path.join(config.dataDir, "files", "tmp")).pipe(
      Effect.catchTag("FileStoreError", (e) => Effect.die(e))
    ))
)
