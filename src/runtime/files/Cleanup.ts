// Removes stored files nobody can reach any more: uploads no message took up within
// `files.unattachedTtl`, and the files of deleted messages and feeds. Runs at start and then every
// `files.sweepInterval` for as long as the server's scope lives.
//
// A file belongs to the messages of its feed that carry its id. The sweep records the first one it finds
// (files.message_id) so it looks no further while that message exists; when it is gone, it looks for
// another before removing the file. The row is deleted first, in a statement that checks again that no
// message carries the file, then the bytes: a failure between the two leaves bytes no row names, never
// a row naming no bytes.
import { Duration, Effect, Layer, Option, Schedule } from "effect"
import { VoxConfig } from "../config/VoxConfig.js"
import { makeFileRepo } from "./FileRepo.js"
import { FileStore } from "./FileStore.js"

const BATCH = 200

/** One pass; the number of files removed. */
export const sweepFiles = Effect.gen(function* () {
  const config = yield* VoxConfig
  const store = yield* FileStore
  const files = yield* makeFileRepo
  const cutoff = Date.now() - Duration.toMillis(config.files.unattachedTtl)
  let after = ""
  let removed = 0
  for (;;) {
    const batch = yield* files.sweepCandidates(cutoff, after, BATCH)
    for (const file of batch) {
      const carrier = yield* files.carrierOf(file)
      if (Option.isSome(carrier)) {
        yield* files.markCarried(file.id, carrier.value)
        continue
      }
      if (!(yield* files.removeUncarried(file))) continue
      removed++
      yield* store.remove(file.id).pipe(
        Effect.catchAll((e) => Effect.logWarning("A removed file's bytes could not be deleted", file.id, e))
      )
    }
    if (batch.length < BATCH) break
    after = batch[batch.length - 1]!.id
  }
  if (removed > 0) yield* Effect.logInfo(`Removed ${removed} files no message carries`)
  return removed
})

export const FileCleanupLive = Layer.scopedDiscard(
  Effect.flatMap(VoxConfig, (config) =>
    sweepFiles.pipe(
      Effect.catchAllCause((cause) => Effect.logWarning("Sweeping unused files failed", cause)),
      Effect.repeat(Schedule.spaced(config.files.sweepInterval)),
      Effect.forkScoped
    ))
)
