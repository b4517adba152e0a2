// Where uploads are written while they arrive, whichever store keeps them afterwards: `<dataDir>/files/tmp`.
// A staged file lives as long as its scope; whatever is in the folder at startup is an upload a crash cut off.
import { Effect } from "effect"
import { randomUUID } from "node:crypto"
import * as Fsp from "node:fs/promises"
import * as Path from "node:path"
import { FileStoreError, type StagedFile } from "./FileStore.js"

export const makeStaging = (dir: string) =>
  Effect.gen(function* () {
    yield* Effect.tryPromise({
      try: async () => {
        await Fsp.rm(dir, { recursive: true, force: true })
        await Fsp.mkdir(dir, { recursive: true })
      },
      catch: (cause) => new FileStoreError({ operation: "init", cause })
    })
    return Effect.acquireRelease(
      Effect.sync((): StagedFile => ({ path: Path.join(dir, `${randomUUID()}.part`) })),
      // a local commit has moved it away already
      (staged) => Effect.promise(() => Fsp.rm(staged.path, { force: true }))
    )
  })
