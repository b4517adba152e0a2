// Whose bucket a request draws from: a signed-in user's own, else its client address's. Webhooks
// (`webhook:{id}`) and federation peers (`fed:{ip}`) get keys of their own when they exist.

export const userKey = (userId: number) => `user:${userId}`

/**
 * An address's bucket. IPv6 goes by its /64: one subscriber usually holds a whole /64, so per-address
 * buckets would give them billions. IPv4 mapped into IPv6 goes by the IPv4 address.
 */
export const addressKey = (ip: string | null) => {
  if (ip === null) return "ip:unknown"
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip)
  if (mapped !== null) return `ip:${mapped[1]}`
  if (!ip.includes(":")) return `ip:${ip}`
  return `ip6:${ipv6Prefix64(ip)}`
}

/** The first four groups of an IPv6 address, `::` expanded. */
const ipv6Prefix64 = (ip: string) => {
  const [head = "", tail] = ip.toLowerCase().split("%")[0]!.split("::")
  const left = head === "" ? [] : head.split(":")
  const right = tail === undefined || tail === "" ? [] : tail.split(":")
  const groups = tail === undefined ? left : [...left, ...Array<string>(Math.max(0, 8 - left.length - right.length)).fill("0"), ...right]
  return groups.slice(0, 4).map((g) => g.replace(/^0+(?=.)/, "")).join(":")
}
