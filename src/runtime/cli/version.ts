import { createRequire } from "node:module"

const require = createRequire(import.meta.url)
const pkg = require("../../../package.json") as { readonly version: string }

export const VERSION = pkg.version
