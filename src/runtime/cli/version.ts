import * as Fs from "node:fs"
import * as Path from "node:path"
import { fileURLToPath } from "node:url"

/**
 * The version in Vox's own package.json: the nearest one above this module, whether it runs from the
 * sources or from the CLI's bundle (bin/vox.js) deeper in the tree.
 */
const ownVersion = (): string | undefined => {
  for (let dir = Path.dirname(fileURLToPath(import.meta.url)); Path.dirname(dir) !== dir; dir = Path.dirname(dir)) {
    const file = Path.join(dir, "package.json")
    if (Fs.existsSync(file)) {
      const pkg = JSON.parse(Fs.readFileSync(file, "utf8")) as { name?: string; version?: string }
      if (pkg.name === "vox" && typeof pkg.version === "string") return pkg.version
    }
  }
  return undefined
}

export const VERSION = ownVersion() ?? "unknown"
