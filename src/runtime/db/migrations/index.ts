// The migrations of every release, in order. Add a file `NNNN_name.ts` and list it here.
import { Migrator } from "@effect/sql"
import m0001 from "./0001_accounts.js"
import m0002 from "./0002_community.js"
import m0003 from "./0003_messages.js"
import m0004 from "./0004_search.js"
import m0005 from "./0005_files.js"
import m0006 from "./0006_threads.js"
import m0007 from "./0007_emoji.js"
import m0008 from "./0008_two_factor.js"
import m0010 from "./0010_gateway.js"
import m0011 from "./0011_files_cleanup.js"
import m0012 from "./0012_dms.js"
import m0013 from "./0013_relationships.js"
import m0014 from "./0014_keys.js"
import m0015 from "./0015_reports.js"

export const migrations = Migrator.fromRecord({
  "0001_accounts": m0001,
  "0002_community": m0002,
  "0003_messages": m0003,
  "0004_search": m0004,
  "0005_files": m0005,
  "0006_threads": m0006,
  "0007_emoji": m0007,
  "0008_two_factor": m0008,
  "0010_gateway": m0010,
  "0011_files_cleanup": m0011,
  "0012_dms": m0012,
  "0013_relationships": m0013,
  "0014_keys": m0014,
  "0015_reports": m0015
})
