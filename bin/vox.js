#!/usr/bin/env node
// Runs the TypeScript sources with no build step. The first run after any change under src/ bundles the
// CLI with esbuild into node_modules/.cache/vox/<hash of src>/ (packages stay imports of their own),
// and every run loads that: a few files instead of hundreds of sources each passed through tsx's
// loader, which took most of the several seconds `vox` needed to start. The bundle is named by a hash
// of the sources' contents, so it is never stale. Without esbuild the sources run through tsx.
import { createHash } from "node:crypto"
import * as Fs from "node:fs"
import * as Path from "node:path"
import { fileURLToPath, pathToFileURL } from "node:url"

const root = Path.resolve(Path.dirname(fileURLToPath(import.meta.url)), "..")
const src = Path.join(root, "src")
const entry = Path.join(src, "runtime", "cli", "main.ts")
const cache = Path.join(root, "node_modules", ".cache", "vox")

/** A hash of every source file's path and bytes. */
const fingerprint = () => {
  const hash = createHash("sha256")
  const walk = (dir) => {
    for (const item of Fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const full = Path.join(dir, item.name)
      if (item.isDirectory()) walk(full)
      else {
        hash.update(Path.relative(src, full))
        hash.update(Fs.readFileSync(full))
      }
    }
  }
  walk(src)
  return hash.digest("hex").slice(0, 20)
}

/** A day: a bundle that old is of sources no running `vox` still loads its lazy parts from. */
const STALE_MS = 24 * 60 * 60 * 1000

/** The bundle's entry, built if this version of the sources has none yet. */
const bundle = async () => {
  const dir = Path.join(cache, fingerprint())
  const main = Path.join(dir, "main.js")
  if (Fs.existsSync(main)) return main
  const esbuild = await import("esbuild")
  // Built aside and renamed into place: processes starting at once never load half a bundle.
  const staging = `${dir}.${process.pid}.tmp`
  try {
    await esbuild.build({
      entryPoints: { main: entry },
      outdir: staging,
      outExtension: { ".js": ".js" },
      bundle: true,
      splitting: true,
      format: "esm",
      platform: "node",
      target: "node20",
      packages: "external",
      sourcemap: "linked",
      logLevel: "silent"
    })
  } catch (error) {
    Fs.rmSync(staging, { recursive: true, force: true })
    throw error
  }
  Fs.writeFileSync(Path.join(staging, "package.json"), '{ "type": "module" }\n')
  try {
    Fs.renameSync(staging, dir)
  } catch {
    // another process put the same bundle in place first
    Fs.rmSync(staging, { recursive: true, force: true })
  }
  // Bundles of sources that have changed since: dropped once no running `vox` can still need them.
  for (const other of Fs.readdirSync(cache)) {
    const path = Path.join(cache, other)
    if (other !== Path.basename(dir) && Date.now() - Fs.statSync(path).mtimeMs > STALE_MS) Fs.rmSync(path, { recursive: true, force: true })
  }
  return main
}

/** The bundle, or undefined where it cannot be made (no esbuild, a read-only install): then tsx runs the sources. */
const bundled = () => bundle().catch(() => undefined)

const main = await bundled()
if (main === undefined) {
  const { register } = await import("tsx/esm/api")
  register()
  await import(pathToFileURL(entry).href)
} else {
  // stack traces name the sources, not the bundle
  process.setSourceMapsEnabled(true)
  await import(pathToFileURL(main).href)
}
