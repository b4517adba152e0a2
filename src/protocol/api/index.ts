// Every REST endpoint of the protocol, for whoever needs the whole table: the router is checked
// against it, and so is every endpoint's access.
import type { Endpoint } from "../endpoint.js"
import * as Admin from "./admin.js"
import * as Audit from "./audit.js"
import * as Auth from "./auth.js"
import * as Dms from "./dms.js"
import * as Embeds from "./embeds.js"
import * as Emoji from "./emoji.js"
import * as Files from "./files.js"
import * as Invites from "./invites.js"
import * as Keys from "./keys.js"
import * as Members from "./members.js"
import * as Messages from "./messages.js"
import * as Ops from "./ops.js"
import * as Presence from "./presence.js"
import * as Relationships from "./relationships.js"
import * as Reports from "./reports.js"
import * as Roles from "./roles.js"
import * as Server from "./server.js"
import * as Sessions from "./sessions.js"
import * as Spaces from "./spaces.js"
import * as Sync from "./sync.js"
import * as Threads from "./threads.js"
import * as TwoFactor from "./twoFactor.js"
import * as Users from "./users.js"
import * as WebAuthn from "./webauthn.js"

const isEndpoint = (value: unknown): value is Endpoint =>
  typeof value === "object" && value !== null && "method" in value && "path" in value && "access" in value

export const endpoints: ReadonlyArray<Endpoint> = [Ops, Auth, Users, Presence, Server, Spaces, Roles, Members, Invites, Audit, Sync, Messages, Threads, Files, Embeds, Emoji, Sessions, TwoFactor, WebAuthn, Admin, Dms, Relationships, Reports, Keys]
  .flatMap((module) => Object.values(module).filter(isEndpoint))
