// The file store on the local disk, under `<dataDir>/files`: committed files at `<2 chars>/<id>` (and
// their thumbnails at `<id>.thumb`), uploads in progress in `tmp/`. Paths are built from server-issued ids only (checked again here),
// never from anything a client sent. Staging and storage share one file system, so a commit is a
// rename, made durable with fsync of the file and of its directory.
import { NodeStream } from "@effect/platform-node"
import { Effect, Layer, Option } from "effect"
import * as Fs from "node:fs"
import * as Fsp from "node:fs/promises"
import * as Path from "node:path"
import { FILE_ID_PATTERN, type FileId } from "../../protocol/api/files.js"
import { VoxConfig } from "../config/VoxConfig.js"
import { FileStore, FileStoreError, type FileStoreShape, type FileVariant, type StagedFile } from "./FileStore.js"
import { makeStaging } from "./staging.js"

const attempt = <A>(operation: string, run: () => Promise<A>) =>
  Effect.tryPromise({ try: run, catch: (cause) => new FileStoreError({ operation, cause }) })

const isMissing = (e: unknown) => typeof e === "object" && e !== null && "code" in e && e.code === "ENOENT"

const fsyncPath = async (path: string) => {
  const handle = await Fsp.open(path, "r")
  try {
    await handle.sync()
  } finally {
    await handle.close()
  }
}

export const makeLocalFileStore = (root: string) =>
  Effect.gen(function* () {
    const stage = yield* makeStaging(Path.join(root, "tmp"))

    const pathOf = (id: FileId, variant: FileVariant) => {
      if (!FILE_ID_PATTERN.test(id)) return Effect.die(new Error(`not a file id: ${JSON.stringify(id)}`))
      return Effect.succeed(Path.join(root, id.slice(2, 4), variant === "original" ? id : `${id}.thumb`))
    }

    const commit = (staged: StagedFile, id: FileId, variant: FileVariant) =>
      Effect.flatMap(pathOf(id, variant), (target) =>
        attempt("commit", async () => {
          await fsyncPath(staged.path)
          await Fsp.mkdir(Path.dirname(target), { recursive: true })
          await Fsp.rename(staged.path, target)
          await fsyncPath(Path.dirname(target))
        }))

    const open = (id: FileId, variant: FileVariant) =>
      Effect.flatMap(pathOf(id, variant), (path) =>
        attempt("open", async () => {
          try {
            const stat = await Fsp.stat(path)
            return Option.some({
              size: stat.size,
              content: NodeStream.fromReadable(
                () => Fs.createReadStream(path),
                (cause) => new FileStoreError({ operation: "read", cause })
              )
            })
          } catch (e) {
            if (isMissing(e)) return Option.none()
            return Promise.reject(e)
          }
        }))

    const remove = (id: FileId) =>
      Effect.forEach(["original", "thumbnail"] as const, (variant) =>
        Effect.flatMap(pathOf(id, variant), (path) => attempt("remove", () => Fsp.rm(path, { force: true }))), { discard: true })

    return { stage, commit, open, remove } satisfies FileStoreShape
  })

/** The local store under `<dataDir>/files`. */
export const LocalFileStoreLive = Layer.effect(
  FileStore,
  Effect.flatMap(VoxConfig, (config) => makeLocalFileStore(Path.join(config.dataDir, "files"))).pipe(Effect.orDie)
)
