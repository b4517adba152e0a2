// Reports end to end over HTTP and the gateway (issue 6, seed 002 §12 "Client-Side Reporting"): a DM
// participant reports what their client decrypted, a moderator with VIEW_REPORTS lists the open reports
// and resolves each once with dismiss, warn, kick or ban, carried out then and there and audited
// (acceptance 6: "ban" bans the reported user and writes an audit entry). Only someone who could see a
// message may report it; bad input is refused and changes nothing. On SQLite and PostgreSQL.
import { describe, expect, layer } from "@effect/vitest"
import { Effect } from "effect"
import * as Audit from "../../src/protocol/api/audit.js"
import * as Dms from "../../src/protocol/api/dms.js"
import * as Members from "../../src/protocol/api/members.js"
import * as Messages from "../../src/protocol/api/messages.js"
import * as Reports from "../../src/protocol/api/reports.js"
import * as Roles from "../../src/protocol/api/roles.js"
import * as Spaces from "../../src/protocol/api/spaces.js"
import type { DmId, FeedId, UserId } from "../../src/protocol/ids.js"
import { fromNames, NO_PERMISSIONS, Permission, type PermissionName } from "../../src/protocol/permissions.js"
import type { Snowflake } from "../../src/protocol/snowflake.js"
import { backends } from "../support/backends.js"
import { failure } from "../support/expect.js"
import { dispatchesWithin, gatewayFor, nextDispatch } from "../support/gateway.js"
import { rawEndpointRequest } from "../support/http.js"
import { newUser, owner, TestServerLive } from "../support/server.js"

type Person = Effect.Effect.Success<ReturnType<typeof newUser>>

const openDm = (a: Person, b: Person) => Effect.map(a.client.call(Dms.openDm, { body: { recipient_id: b.user_id } }), (d) => d.dm_id)

const sayInDm = (who: Person, dmId: DmId, body: string) =>
  Effect.map(who.client.call(Dms.sendDmMessage, { params: { dm_id: dmId }, body: { body } }), (m) => m.msg_id)

const sayInFeed = (who: Person, feedId: FeedId, body: string) =>
  Effect.map(who.client.call(Messages.sendMessage, { params: { feed_id: feedId }, body: { body } }), (m) => m.msg_id)

const report = (who: Person, body: Reports.CreateReport) => who.client.call(Reports.createReport, { body })

const quote = (msg_id: Snowflake, body: string) => ({ msg_id, body })

const resolve = (who: Person, id: Reports.ReportId, body: Reports.ResolveReport) =>
  who.client.call(Reports.resolveReport, { params: { report_id: id }, body })

/** Every report of a status, walking the pages. */
const allReports = (who: Person, status?: Reports.ReportStatus) =>
  Effect.gen(function* () {
    const found: Array<Reports.Report> = []
    let cursor: string | undefined
    for (;;) {
      const page = yield* who.client.call(Reports.listReports, {
        query: { limit: 100, ...(status === undefined ? {} : { status }), ...(cursor === undefined ? {} : { cursor }) }
      })
      found.push(...page.reports)
      if (page.cursor === null) return found
      cursor = page.cursor
    }
  })

/** A new user holding a new role with these permissions at this position (the owner creates and assigns it). */
const withRole = (prefix: string, permissions: ReadonlyArray<PermissionName>, position: number) =>
  Effect.gen(function* () {
    const boss = yield* owner
    const person = yield* newUser(prefix)
    const role = yield* boss.client.call(Roles.createRole, {
      body: { name: `${prefix}-role`, permissions: permissions.length === 0 ? NO_PERMISSIONS : fromNames(permissions), position }
    })
    yield* boss.client.call(Roles.assignRole, { params: { user_id: person.user_id, role_id: role.role_id } })
    return person
  })

const auditOf = (eventType: string, targetId: number) =>
  Effect.gen(function* () {
    const boss = yield* owner
    const page = yield* boss.client.call(Audit.queryAuditLog, { query: { event_type: eventType, target_id: targetId } })
    return page.entries
  })

for (const backend of backends) {
  describe(`reports on ${backend.name}`, () => {
    layer(TestServerLive(backend), { excludeTestServices: true })((it) => {
      it.scoped("acceptance 6: a DM report resolved with ban bans the reported user, purges, and is audited", () =>
        Effect.gen(function* () {
          const boss = yield* owner
          const mod = yield* withRole("mod", ["VIEW_REPORTS", "BAN_MEMBERS", "KICK_MEMBERS"], 5)
          const alice = yield* newUser("alice")
          const troll = yield* newUser("troll")
          const feed = yield* boss.client.call(Spaces.createFeed, { body: { name: "lobby", type: "text" } })
          const dmId = yield* openDm(alice, troll)
          // What travels in a DM is ciphertext; the report carries what alice's client decrypted.
          const sent = yield* troll.client.call(Dms.sendDmMessage, { params: { dm_id: dmId }, body: { body: "bWxzLWNpcGhlcnRleHQ=" } })
          yield* sayInFeed(troll, feed.feed_id, "spam in public")

          const created = yield* rawEndpointRequest(Reports.createReport, {}, {
            token: alice.token,
            body: {
              reported_user_id: troll.user_id,
              dm_id: dmId,
              messages: [{ msg_id: sent.msg_id, body: "you will regret this", timestamp: 1700000000 }],
              reason: "harassment",
              description: "Threatening messages after I asked them to stop"
            }
          })
          expect(created.status).toBe(201)
          expect(created.body).toMatchObject({
            reporter_id: alice.user_id,
            reported_user_id: troll.user_id,
            dm_id: dmId,
            feed_id: null,
            reason: "harassment",
            description: "Threatening messages after I asked them to stop",
            // the server's own time of the message, not the one the client claimed
            messages: [{ msg_id: sent.msg_id, body: "you will regret this", timestamp: sent.timestamp }],
            status: "open",
            resolved_at: null,
            resolved_by: null,
            resolution_action: null
          })
          const reportId = created.body.report_id as Reports.ReportId

          const open = yield* allReports(mod, "open")
          expect(open.find((r) => r.report_id === reportId)?.messages[0]?.body).toBe("you will regret this")

          const resolved = yield* resolve(mod, reportId, { action: "ban", reason: "harassment in DMs", delete_msg_days: 1 })
          expect(resolved).toMatchObject({
            report_id: reportId,
            status: "resolved",
            resolution_action: "ban",
            resolved_by: mod.user_id,
            resolution_reason: "harassment in DMs"
          })
          expect(Date.parse(resolved.resolved_at!)).toBeGreaterThan(Date.now() - 60_000)

          // The ban is the community's own: listed, the member gone, their sessions ended, their recent
          // feed messages purged (the DM message stays: a DM is not the community's to purge).
          const bans = yield* boss.client.call(Members.listBans, { query: {} })
          expect(bans.items.find((b) => b.user_id === troll.user_id)).toMatchObject({ reason: "harassment in DMs", banned_by: mod.user_id })
          expect(yield* failure(boss.client.call(Members.getMember, { params: { user_id: troll.user_id } }))).toEqual({ code: "USER_NOT_FOUND" })
          expect((yield* failure(troll.client.me())).code).toMatch(/^AUTH_/)
          const history = yield* boss.client.call(Messages.getHistory, { params: { feed_id: feed.feed_id }, query: {} })
          expect(history.messages).toEqual([])

          const banEntries = yield* auditOf("member.ban", troll.user_id)
          expect(banEntries).toHaveLength(1)
          expect(banEntries[0]).toMatchObject({
            actor_id: mod.user_id,
            metadata: { reason: "harassment in DMs", delete_msg_days: 1, report_id: reportId }
          })
          const resolveEntries = yield* auditOf("report.resolve", troll.user_id)
          expect(resolveEntries.map((e) => [e.actor_id, e.metadata])).toEqual([
            [mod.user_id, { report_id: reportId, action: "ban", reason: "harassment in DMs" }]
          ])
          // The audit log keeps ids, never the reported content (seed 002 §15).
          expect(JSON.stringify([...banEntries, ...resolveEntries].map((e) => e.metadata))).not.toContain("regret")

          // Once only: a second resolution is refused and does nothing.
          const again = yield* rawEndpointRequest(Reports.resolveReport, { report_id: reportId }, { token: mod.token, body: { action: "dismiss" } })
          expect({ status: again.status, code: again.body.error.code }).toEqual({ status: 409, code: "REPORT_ALREADY_RESOLVED" })
          expect((yield* auditOf("report.resolve", troll.user_id))).toHaveLength(1)
          expect((yield* allReports(mod, "open")).map((r) => r.report_id)).not.toContain(reportId)
          expect((yield* allReports(mod, "resolved")).find((r) => r.report_id === reportId)?.resolution_action).toBe("ban")
        }))

      it.effect("only someone who could see the messages reports them: DM participants, feed readers", () =>
        Effect.gen(function* () {
          const boss = yield* owner
          const [carol, dave, eve, frank] = yield* Effect.all([newUser("carol"), newUser("dave"), newUser("eve"), newUser("frank")])
          const dmId = yield* openDm(carol, dave)
          const fromDave = yield* sayInDm(dave, dmId, "c2VjcmV0")
          const fromCarol = yield* sayInDm(carol, dmId, "b3RoZXI=")

          // A stranger to the DM is refused before anything about its messages is said.
          expect(yield* failure(report(eve, { reported_user_id: dave.user_id, dm_id: dmId, messages: [quote(fromDave, "x")], reason: "spam" })))
            .toEqual({ code: "FORBIDDEN" })
          expect(yield* failure(report(eve, { reported_user_id: dave.user_id, dm_id: dmId, messages: [quote(1n as Snowflake, "x")], reason: "spam" })))
            .toEqual({ code: "FORBIDDEN" })
          expect(yield* failure(report(eve, { reported_user_id: dave.user_id, dm_id: dmId, reason: "spam" }))).toEqual({ code: "FORBIDDEN" })
          // A participant quotes only what the reported user wrote there.
          expect(yield* failure(report(carol, { reported_user_id: dave.user_id, dm_id: dmId, messages: [quote(fromCarol, "x")], reason: "spam" })))
            .toEqual({ code: "INVALID_BODY" })
          expect(yield* failure(report(carol, { reported_user_id: dave.user_id, dm_id: dmId, messages: [quote(12345n as Snowflake, "x")], reason: "spam" })))
            .toEqual({ code: "MESSAGE_NOT_FOUND" })
          expect(yield* failure(report(carol, { reported_user_id: eve.user_id, dm_id: dmId, reason: "spam" }))).toEqual({ code: "INVALID_BODY" })
          const fromDm = yield* report(carol, { reported_user_id: dave.user_id, dm_id: dmId, messages: [quote(fromDave, "buy my stuff")], reason: "spam" })
          expect(fromDm.messages.map((m) => m.msg_id)).toEqual([fromDave])

          // DMs live outside the community: a participant who is no member may still report.
          const frankDm = yield* openDm(frank, dave)
          const toFrank = yield* sayInDm(dave, frankDm, "aGk=")
          yield* frank.client.call(Members.leaveServer)
          const byOutsider = yield* report(frank, { reported_user_id: dave.user_id, dm_id: frankDm, messages: [quote(toFrank, "hi, creep")], reason: "other" })
          expect(byOutsider.reporter_id).toBe(frank.user_id)

          // A feed message: whoever can read the feed, and nobody else.
          const feed = yield* boss.client.call(Spaces.createFeed, { body: { name: "town-square", type: "text" } })
          const post = yield* sayInFeed(dave, feed.feed_id, "public insult")
          const byReader = yield* report(eve, { reported_user_id: dave.user_id, feed_id: feed.feed_id, messages: [quote(post, "public insult")], reason: "harassment" })
          expect({ feed_id: byReader.feed_id, dm_id: byReader.dm_id }).toEqual({ feed_id: feed.feed_id, dm_id: null })
          yield* boss.client.call(Spaces.setFeedOverride, {
            params: { feed_id: feed.feed_id, target_type: "user", target_id: carol.user_id },
            body: { allow: NO_PERMISSIONS, deny: Permission.READ_HISTORY }
          })
          expect(yield* failure(report(carol, { reported_user_id: dave.user_id, feed_id: feed.feed_id, messages: [quote(post, "x")], reason: "spam" })))
            .toEqual({ code: "FORBIDDEN", missing: "READ_HISTORY" })
          expect(yield* failure(report(frank, { reported_user_id: dave.user_id, feed_id: feed.feed_id, messages: [quote(post, "x")], reason: "spam" })))
            .toEqual({ code: "FORBIDDEN" })
          // A DM message is not in a feed.
          expect(yield* failure(report(eve, { reported_user_id: dave.user_id, feed_id: feed.feed_id, messages: [quote(fromDave, "x")], reason: "spam" })))
            .toEqual({ code: "MESSAGE_NOT_FOUND" })
        }))

      it.effect("bad reports and bad resolutions are refused with a clear error and change nothing", () =>
        Effect.gen(function* () {
          const mod = yield* withRole("badmod", ["VIEW_REPORTS", "BAN_MEMBERS", "KICK_MEMBERS"], 5)
          const [gina, hank] = yield* Effect.all([newUser("gina"), newUser("hank")])
          const dmId = yield* openDm(gina, hank)
          const msg = yield* sayInDm(hank, dmId, "Y3Q=")
          const before = (yield* allReports(mod)).length
          const post = (body: unknown) => rawEndpointRequest(Reports.createReport, {}, { token: gina.token, body })
          const refused = (r: { status: number; body: any }) => ({ status: r.status, code: r.body.error.code })

          const base = { reported_user_id: hank.user_id, dm_id: dmId, reason: "spam" }
          expect(refused(yield* post({ ...base, reported_user_id: gina.user_id }))).toEqual({ status: 400, code: "INVALID_BODY" })
          expect(refused(yield* post({ ...base, feed_id: 1 }))).toEqual({ status: 400, code: "INVALID_BODY" })
          expect(refused(yield* post({ reported_user_id: hank.user_id, reason: "spam", messages: [{ msg_id: msg, body: "x" }] })))
            .toEqual({ status: 400, code: "INVALID_BODY" })
          expect(refused(yield* post({ ...base, messages: [{ msg_id: msg, body: "x" }, { msg_id: msg, body: "y" }] })))
            .toEqual({ status: 400, code: "INVALID_BODY" })
          expect(refused(yield* post({ ...base, reason: "rudeness" }))).toEqual({ status: 400, code: "INVALID_BODY" })
          expect(refused(yield* post({ ...base, reported_user_id: 4_000_000_000 }))).toEqual({ status: 404, code: "USER_NOT_FOUND" })
          // The evidence is bounded: a quoted body, the number of quotes, the description.
          const long = yield* post({ ...base, messages: [{ msg_id: msg, body: "x".repeat(Reports.MAX_EVIDENCE_CHARS + 1) }] })
          expect(refused(long)).toEqual({ status: 400, code: "INVALID_BODY" })
          expect(long.body.error.message).toContain(`${Reports.MAX_EVIDENCE_CHARS}`)
          const many = Array.from({ length: Reports.MAX_REPORTED_MESSAGES + 1 }, (_, i) => ({ msg_id: msg + BigInt(i), body: "x" }))
          expect(refused(yield* post({ ...base, messages: many }))).toEqual({ status: 400, code: "INVALID_BODY" })
          expect(refused(yield* post({ ...base, description: "d".repeat(Reports.MAX_REPORT_DESCRIPTION + 1) })))
            .toEqual({ status: 400, code: "INVALID_BODY" })
          expect((yield* allReports(mod)).length).toBe(before)

          const fine = yield* report(gina, { reported_user_id: hank.user_id, dm_id: dmId, messages: [quote(msg, "ok")], reason: "spam" })
          const resolveRaw = (id: number, body: unknown) =>
            rawEndpointRequest(Reports.resolveReport, { report_id: id }, { token: mod.token, body })
          expect(refused(yield* resolveRaw(999_999, { action: "dismiss" }))).toEqual({ status: 404, code: "REPORT_NOT_FOUND" })
          expect(refused(yield* resolveRaw(fine.report_id, { action: "mute" }))).toEqual({ status: 400, code: "INVALID_BODY" })
          expect(refused(yield* resolveRaw(fine.report_id, { action: "warn", delete_msg_days: 3 }))).toEqual({ status: 400, code: "INVALID_BODY" })
          expect(refused(yield* resolveRaw(fine.report_id, { action: "ban", delete_msg_days: 15 }))).toEqual({ status: 400, code: "INVALID_BODY" })
          const cursor = yield* rawEndpointRequest(Reports.listReports, {}, { token: mod.token })
          expect(cursor.status).toBe(200)
          const badCursor = yield* rawEndpointRequest({ method: "GET", path: "/api/v1/reports?cursor=nonsense" }, {}, { token: mod.token })
          expect(refused(badCursor)).toEqual({ status: 400, code: "INVALID_BODY" })
          // Still open, hank still a member, nothing audited.
          expect((yield* allReports(mod, "open")).map((r) => r.report_id)).toContain(fine.report_id)
          expect((yield* mod.client.call(Members.getMember, { params: { user_id: hank.user_id } })).user_id).toBe(hank.user_id)
          expect(yield* auditOf("report.resolve", hank.user_id)).toEqual([])
        }))

      it.scoped("each action: dismiss, warn (to the warned user alone), kick; each needs its permission and the hierarchy", () =>
        Effect.gen(function* () {
          const reviewer = yield* withRole("reviewer", ["VIEW_REPORTS"], 3)
          const mod = yield* withRole("actmod", ["VIEW_REPORTS", "BAN_MEMBERS", "KICK_MEMBERS"], 5)
          const senior = yield* withRole("senior", [], 10)
          const [ivy, jack, kim] = yield* Effect.all([newUser("ivy"), newUser("jack"), newUser("kim")])
          const reportOf = (reporter: Person, target: Person) =>
            Effect.gen(function* () {
              const dm = yield* openDm(reporter, target)
              const id = yield* sayInDm(target, dm, "Ym9keQ==")
              return (yield* report(reporter, { reported_user_id: target.user_id, dm_id: dm, messages: [quote(id, "rude")], reason: "harassment" })).report_id
            })

          // Listing and resolving take VIEW_REPORTS.
          expect(yield* failure(ivy.client.call(Reports.listReports, { query: {} }))).toEqual({ code: "FORBIDDEN", missing: "VIEW_REPORTS" })

          // Kick and ban take their own permissions too; a refused action leaves the report open.
          const onJack = yield* reportOf(ivy, jack)
          expect(yield* failure(resolve(reviewer, onJack, { action: "ban" }))).toEqual({ code: "FORBIDDEN", missing: "BAN_MEMBERS" })
          expect(yield* failure(resolve(reviewer, onJack, { action: "kick" }))).toEqual({ code: "FORBIDDEN", missing: "KICK_MEMBERS" })
          // Nobody acts on someone at or above them.
          const onSenior = yield* reportOf(ivy, senior)
          expect(yield* failure(resolve(mod, onSenior, { action: "ban" }))).toEqual({ code: "ROLE_HIERARCHY" })
          expect(yield* failure(resolve(mod, onSenior, { action: "kick" }))).toEqual({ code: "ROLE_HIERARCHY" })
          expect(yield* failure(resolve(mod, onSenior, { action: "warn" }))).toEqual({ code: "ROLE_HIERARCHY" })
          // Nor on a report about themselves.
          const onMod = yield* reportOf(ivy, mod)
          expect(yield* failure(resolve(mod, onMod, { action: "dismiss" }))).toEqual({ code: "FORBIDDEN" })
          const stillOpen = (yield* allReports(mod, "open")).map((r) => r.report_id)
          expect(stillOpen).toEqual(expect.arrayContaining([onJack, onSenior, onMod]))
          expect((yield* mod.client.call(Members.getMember, { params: { user_id: senior.user_id } })).user_id).toBe(senior.user_id)

          // warn: the warned user's sessions alone hear it; who warned them is not said.
          const jackGateway = yield* gatewayFor(jack.token)
          const ivyGateway = yield* gatewayFor(ivy.token)
          for (const g of [jackGateway, ivyGateway]) yield* nextDispatch(g, (d) => d.t === "READY")
          const warned = yield* resolve(reviewer, onJack, { action: "warn", reason: "Keep it civil" })
          expect(warned).toMatchObject({ status: "resolved", resolution_action: "warn", resolved_by: reviewer.user_id })
          const warning = yield* nextDispatch(jackGateway, (d) => d.t === "MODERATION_WARNING")
          expect(warning.d).toEqual({ reason: "harassment", note: "Keep it civil", warned_at: expect.any(String) })
          expect((yield* dispatchesWithin(ivyGateway)).filter((d) => d.t === "MODERATION_WARNING")).toEqual([])
          expect((yield* auditOf("member.warn", jack.user_id)).map((e) => [e.actor_id, e.metadata]))
            .toEqual([[reviewer.user_id, { reason: "Keep it civil", report_id: onJack }]])
          expect((yield* mod.client.call(Members.getMember, { params: { user_id: jack.user_id } })).user_id).toBe(jack.user_id)

          // kick: the member is gone, with the kick audited as such and naming the report.
          const onKim = yield* reportOf(ivy, kim)
          yield* resolve(mod, onKim, { action: "kick", reason: "cool off" })
          expect(yield* failure(mod.client.call(Members.getMember, { params: { user_id: kim.user_id } }))).toEqual({ code: "USER_NOT_FOUND" })
          expect((yield* auditOf("member.kick", kim.user_id)).map((e) => [e.actor_id, e.metadata]))
            .toEqual([[mod.user_id, { reason: "cool off", report_id: onKim }]])
          expect((yield* mod.client.call(Members.listBans, { query: {} })).items.map((b) => b.user_id)).not.toContain(kim.user_id)

          // dismiss: nothing happens to anyone; only the resolution is recorded.
          const dismissed = yield* resolve(reviewer, onSenior, { action: "dismiss" })
          expect(dismissed).toMatchObject({ status: "resolved", resolution_action: "dismiss", resolution_reason: null })
          expect((yield* mod.client.call(Members.getMember, { params: { user_id: senior.user_id } })).user_id).toBe(senior.user_id)
          expect((yield* auditOf("report.resolve", senior.user_id)).map((e) => e.metadata))
            .toEqual([{ report_id: onSenior, action: "dismiss" }])
          expect(yield* auditOf("member.*", senior.user_id)).toEqual([])
        }))

      it.effect("the list is a queue: oldest first, filtered by status, paged by cursor", () =>
        Effect.gen(function* () {
          const mod = yield* withRole("pager", ["VIEW_REPORTS"], 4)
          const [mia, ned] = yield* Effect.all([newUser("mia"), newUser("ned")])
          const dmId = yield* openDm(mia, ned)
          const ids: Array<Reports.ReportId> = []
          for (let i = 0; i < 5; i++) {
            ids.push((yield* report(mia, { reported_user_id: ned.user_id, dm_id: dmId, reason: "spam", description: `#${i}` })).report_id)
          }
          yield* resolve(mod, ids[1]!, { action: "dismiss" })

          const seen: Array<Reports.ReportId> = []
          let cursor: string | undefined
          let pages = 0
          for (;;) {
            const page = yield* mod.client.call(Reports.listReports, {
              query: { status: "open", limit: 2, ...(cursor === undefined ? {} : { cursor }) }
            })
            pages++
            expect(page.reports.length).toBeLessThanOrEqual(2)
            expect(page.reports.every((r) => r.status === "open")).toBe(true)
            seen.push(...page.reports.map((r) => r.report_id))
            if (page.cursor === null) break
            cursor = page.cursor
          }
          expect(pages).toBeGreaterThan(1)
          expect(seen).toEqual([...seen].sort((a, b) => a - b))
          const mine = seen.filter((id) => ids.includes(id))
          expect(mine).toEqual([ids[0], ids[2], ids[3], ids[4]])
          const resolvedIds = (yield* allReports(mod, "resolved")).map((r) => r.report_id)
          expect(resolvedIds).toContain(ids[1])
          expect(resolvedIds).not.toContain(ids[0])
          const users = new Set((yield* allReports(mod)).filter((r) => ids.includes(r.report_id)).map((r) => r.reported_user_id as UserId))
          expect([...users]).toEqual([ned.user_id])
        }))
    })
  })
}
