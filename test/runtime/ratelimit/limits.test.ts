// The rate limiter's parts on their own: the bucket arithmetic (GCRA), whose bucket an address is,
// which category each endpoint draws from, and the settings with the seed's defaults.
import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect } from "effect"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import * as Auth from "../../../src/protocol/api/auth.js"
import * as Dms from "../../../src/protocol/api/dms.js"
import * as Keys from "../../../src/protocol/api/keys.js"
import { endpoints } from "../../../src/protocol/api/index.js"
import * as Messages from "../../../src/protocol/api/messages.js"
import * as Ops from "../../../src/protocol/api/ops.js"
import * as Sessions from "../../../src/protocol/api/sessions.js"
import * as Users from "../../../src/protocol/api/users.js"
import { loadVoxConfig } from "../../../src/runtime/config/VoxConfig.js"
import { giveBack, type Rate, take } from "../../../src/runtime/ratelimit/gcra.js"
import { addressKey } from "../../../src/runtime/ratelimit/keys.js"
import { RATE_LIMIT_CATEGORIES } from "../../../src/runtime/ratelimit/quotas.js"
import { limitRuleOf, UNLIMITED } from "../../../src/runtime/ratelimit/rules.js"

/** Runs requests at the given times against one bucket; what each was told. */
const run = (rate: Rate, times: ReadonlyArray<number>) => {
  let tat: number | undefined
  return times.map((now) => {
    const step = take(tat, now, rate)
    tat = step.tat
    return step.verdict
  })
}

describe("GCRA buckets", () => {
  const fivePerMinute = { requests: 5, periodMs: 60_000 }

  it("a full bucket allows `requests` at once, counting down, then refuses until one interval has passed", () => {
    const verdicts = run(fivePerMinute, [0, 0, 0, 0, 0, 0, 11_999, 12_000, 12_000])
    expect(verdicts.map((v) => v.allowed)).toEqual([true, true, true, true, true, false, false, true, false])
    expect(verdicts.slice(0, 5).map((v) => v.remaining)).toEqual([4, 3, 2, 1, 0])
    expect(verdicts[5]).toMatchObject({ remaining: 0, retryAfterMs: 12_000, resetAtMs: 60_000 })
    expect(verdicts[6]!.retryAfterMs).toBe(1)
    expect(verdicts[7]).toMatchObject({ remaining: 0, resetAtMs: 72_000 })
  })

  it("an idle bucket refills to full and no further", () => {
    const verdicts = run(fivePerMinute, [0, 0, 0, 1_000_000, 1_000_000])
    expect(verdicts.map((v) => v.remaining)).toEqual([4, 3, 2, 4, 3])
  })

  it("refusals cost nothing: a client hammering a full bucket is let in on time", () => {
    const hammering = Array.from({ length: 1000 }, (_, i) => i * 10)
    const allowed = run({ requests: 2, periodMs: 1000 }, hammering).filter((v) => v.allowed).length
    // 2 at once, then one every 500 ms over the 10 s
    expect(allowed).toBe(2 + 19)
  })

  it("periods that do not divide evenly lose no request to rounding", () => {
    const verdicts = run({ requests: 3, periodMs: 1000 }, [0, 0, 0, 0, 1000 / 3, 2000 / 3, 1000])
    expect(verdicts.map((v) => v.allowed)).toEqual([true, true, true, false, true, true, true])
  })

  it("giving a request back restores it, and a full bucket stays full", () => {
    const rate = { requests: 2, periodMs: 1000 }
    const first = take(undefined, 0, rate)
    const second = take(first.tat, 0, rate)
    expect(take(second.tat, 0, rate).verdict.allowed).toBe(false)
    const back = giveBack(second.tat, 0, rate)
    expect(take(back, 0, rate).verdict).toMatchObject({ allowed: true, remaining: 0 })
    expect(giveBack(giveBack(back, 0, rate), 0, rate)).toBeUndefined()
  })
})

describe("client addresses", () => {
  it("IPv4 by address, IPv4-mapped IPv6 as IPv4, IPv6 by its /64", () => {
    expect(addressKey("203.0.113.7")).toBe("ip:203.0.113.7")
    expect(addressKey("::ffff:203.0.113.7")).toBe("ip:203.0.113.7")
    expect(addressKey("2001:db8:1:2:aaaa::1")).toBe(addressKey("2001:0db8:0001:0002:ffff:1:2:3"))
    expect(addressKey("2001:db8:1:2::1")).not.toBe(addressKey("2001:db8:1:3::1"))
    expect(addressKey("::1")).toBe("ip6:0:0:0:0")
    expect(addressKey("fe80::1%eth0")).toBe("ip6:fe80:0:0:0")
    expect(addressKey(null)).toBe("ip:unknown")
  })
})

describe("the category table", () => {
  it("names each seed category's endpoints; the rest are general", () => {
    expect(limitRuleOf(Auth.login)).toEqual({ category: "auth", failuresPerAccount: "username" })
    expect(limitRuleOf(Auth.register)).toEqual({ category: "auth" })
    expect(limitRuleOf(Sessions.listSessions)).toEqual({ category: "auth" })
    expect(limitRuleOf(Messages.sendMessage)).toEqual({ category: "messageSend", per: "feed_id" })
    expect(limitRuleOf(Messages.getHistory)).toEqual({ category: "history" })
    expect(limitRuleOf(Messages.bulkDeleteMessages)).toEqual({ category: "bulk" })
    expect(limitRuleOf(Messages.searchMessages)).toEqual({ category: "search" })
    expect(limitRuleOf(Dms.openDm)).toEqual({ category: "dmOpen" })
    expect(limitRuleOf(Dms.sendDmMessage)).toEqual({ category: "dmMessages", per: "dm_id" })
    expect(limitRuleOf(Keys.claimPrekeys)).toEqual({ category: "keyClaim", per: "user_id" })
    expect(limitRuleOf(Users.getMe)).toEqual({ category: "general" })
    expect(limitRuleOf(Ops.health)).toBe(UNLIMITED)
  })

  it("every per-feed rule names a path parameter its endpoint has", () => {
    for (const endpoint of endpoints) {
      const rule = limitRuleOf(endpoint)
      if (rule !== UNLIMITED && rule.per !== undefined) expect(endpoint.path).toContain(`:${rule.per}`)
    }
  })
})

describe("rateLimits settings", () => {
  const noFile = () => {
    const file = Path.join(Fs.mkdtempSync(Path.join(Os.tmpdir(), "vox-config-")), "vox.config.ts")
    Fs.writeFileSync(file, "export default {}")
    return file
  }

  it.effect("default to the seed's example limits", () =>
    Effect.gen(function* () {
      const c = yield* loadVoxConfig({ env: {}, file: noFile() })
      const plain = Object.fromEntries(
        RATE_LIMIT_CATEGORIES.map((k) => [k, `${c.rateLimits[k].requests}/${Duration.toMillis(c.rateLimits[k].per)}`])
      )
      expect(plain).toEqual({
        auth: "5/60000",
        loginFailures: "10/900000",
        messageSend: "5/5000",
        history: "30/60000",
        dmOpen: "10/3600000",
        dmMessages: "30/60000",
        bulk: "5/60000",
        upload: "10/60000",
        search: "10/60000",
        keyClaim: "10/3600000",
        gatewayEvents: "120/60000",
        general: "60/60000"
      })
    }))

  it.effect("are read from the file and the environment, one category at a time; a bad value names its setting", () =>
    Effect.gen(function* () {
      const c = yield* loadVoxConfig({
        env: { VOX_RATE_LIMITS_LOGIN_FAILURES_REQUESTS: "3", VOX_RATE_LIMITS_MESSAGE_SEND_PER: "10 seconds" },
        flags: { rateLimits: { general: { requests: 600 } } },
        file: noFile()
      })
      expect(c.rateLimits.loginFailures.requests).toBe(3)
      expect(Duration.toMillis(c.rateLimits.loginFailures.per)).toBe(900_000)
      expect(Duration.toMillis(c.rateLimits.messageSend.per)).toBe(10_000)
      expect(c.rateLimits.messageSend.requests).toBe(5)
      expect(c.rateLimits.general.requests).toBe(600)
      const bad = yield* loadVoxConfig({ env: { VOX_RATE_LIMITS_AUTH_REQUESTS: "0" }, file: noFile() }).pipe(Effect.flip)
      expect(bad.message).toContain("VOX_RATE_LIMITS_AUTH_REQUESTS")
    }))
})
