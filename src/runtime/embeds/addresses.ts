// Which IP addresses an outbound fetch may connect to. DECISIONS.md: outbound resolution refuses
// loopback, private, link-local and other non-public addresses unless the configuration allows them.
// The IPv4 table follows the IANA special-purpose registry (RFC 6890 and updates). For IPv6 only the
// global unicast block 2000::/3 is public, minus its special-purpose parts; addresses that carry an
// IPv4 address (mapped ::ffff:0:0/96, NAT64 64:ff9b::/96, 6to4 2002::/16) are judged by that address.

/** The named range a non-public address falls in; `undefined` for a public address. */
export type NonPublicRange =
  | "invalid"
  | "this-network"
  | "unspecified"
  | "loopback"
  | "private"
  | "shared"
  | "link-local"
  | "ietf-protocol"
  | "documentation"
  | "relay"
  | "benchmarking"
  | "multicast"
  | "reserved"
  | "broadcast"
  | "unique-local"
  | "site-local"
  | "discard"
  | "nat64-local"

type Block = readonly [prefix: ReadonlyArray<number>, bits: number, range: NonPublicRange]

// Disjoint, except the broadcast address inside 240/4: it is listed first.
const V4_BLOCKS: ReadonlyArray<Block> = [
  [[255, 255, 255, 255], 32, "broadcast"],
  [[0, 0, 0, 0], 8, "this-network"],
  [[10, 0, 0, 0], 8, "private"],
  [[100, 64, 0, 0], 10, "shared"], // carrier-grade NAT (also Alibaba's metadata 100.100.100.200)
  [[127, 0, 0, 0], 8, "loopback"],
  [[169, 254, 0, 0], 16, "link-local"], // cloud metadata 169.254.169.254
  [[172, 16, 0, 0], 12, "private"],
  [[192, 0, 0, 0], 24, "ietf-protocol"], // includes Oracle's metadata 192.0.0.192
  [[192, 0, 2, 0], 24, "documentation"],
  [[192, 88, 99, 0], 24, "relay"], // deprecated 6to4 relay anycast
  [[192, 168, 0, 0], 16, "private"],
  [[198, 18, 0, 0], 15, "benchmarking"],
  [[198, 51, 100, 0], 24, "documentation"],
  [[203, 0, 113, 0], 24, "documentation"],
  [[224, 0, 0, 0], 4, "multicast"],
  [[240, 0, 0, 0], 4, "reserved"]
]

const V6_BLOCKS: ReadonlyArray<Block> = [
  [[0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], 128, "unspecified"],
  [[0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1], 128, "loopback"],
  [[0x00, 0x64, 0xff, 0x9b, 0, 1], 48, "nat64-local"],
  [[0x01, 0x00, 0, 0, 0, 0, 0, 0], 64, "discard"],
  [[0x20, 0x01, 0x0d, 0xb8], 32, "documentation"],
  [[0x20, 0x01, 0x00, 0x00], 23, "ietf-protocol"], // Teredo, benchmarking, ORCHID, ...
  [[0x3f, 0xff, 0x00, 0x00], 20, "documentation"],
  [[0xfc], 7, "unique-local"], // includes AWS's metadata fd00:ec2::254
  [[0xfe, 0x80], 10, "link-local"],
  [[0xfe, 0xc0], 10, "site-local"],
  [[0xff], 8, "multicast"]
]

const inBlock = (bytes: ReadonlyArray<number>, prefix: ReadonlyArray<number>, bits: number): boolean => {
  for (let i = 0; i * 8 < bits; i++) {
    const take = Math.min(8, bits - i * 8)
    const mask = (0xff << (8 - take)) & 0xff
    if (((bytes[i] ?? 0) & mask) !== ((prefix[i] ?? 0) & mask)) return false
  }
  return true
}

const rangeIn = (bytes: ReadonlyArray<number>, blocks: ReadonlyArray<Block>): NonPublicRange | undefined =>
  blocks.find(([prefix, bits]) => inBlock(bytes, prefix, bits))?.[2]

/** Strict dotted-quad IPv4 (`127.0.0.1`), as DNS answers and URL parsing produce it. */
export const parseIPv4 = (text: string): ReadonlyArray<number> | undefined => {
  const parts = text.split(".")
  if (parts.length !== 4) return undefined
  const bytes: Array<number> = []
  for (const part of parts) {
    if (!/^(0|[1-9][0-9]{0,2})$/.test(part)) return undefined
    const n = Number(part)
    if (n > 255) return undefined
    bytes.push(n)
  }
  return bytes
}

/** IPv6 text (compressed `::`, a trailing dotted IPv4, a `%zone`) as 16 bytes. */
export const parseIPv6 = (text: string): ReadonlyArray<number> | undefined => {
  const address = text.replace(/%[^%]*$/, "")
  if (!/^[0-9a-fA-F:.]+$/.test(address)) return undefined
  const halves = address.split("::")
  if (halves.length > 2) return undefined
  const groups = (half: string): Array<number> | undefined => {
    if (half === "") return []
    const out: Array<number> = []
    const pieces = half.split(":")
    for (let i = 0; i < pieces.length; i++) {
      const piece = pieces[i] ?? ""
      if (i === pieces.length - 1 && piece.includes(".")) {
        const v4 = parseIPv4(piece)
        if (v4 === undefined) return undefined
        out.push(((v4[0] ?? 0) << 8) | (v4[1] ?? 0), ((v4[2] ?? 0) << 8) | (v4[3] ?? 0))
      } else {
        if (!/^[0-9a-fA-F]{1,4}$/.test(piece)) return undefined
        out.push(parseInt(piece, 16))
      }
    }
    return out
  }
  const head = groups(halves[0] ?? "")
  const tail = halves.length === 2 ? groups(halves[1] ?? "") : []
  if (head === undefined || tail === undefined) return undefined
  let all: Array<number>
  if (halves.length === 2) {
    const missing = 8 - head.length - tail.length
    if (missing < 1) return undefined
    all = [...head, ...new Array<number>(missing).fill(0), ...tail]
  } else {
    if (head.length !== 8) return undefined
    all = head
  }
  return all.flatMap((g) => [g >> 8, g & 0xff])
}

const v4Range = (bytes: ReadonlyArray<number>) => rangeIn(bytes, V4_BLOCKS)

const v6Range = (bytes: ReadonlyArray<number>): NonPublicRange | undefined => {
  // ::ffff:a.b.c.d (IPv4-mapped) and 64:ff9b::a.b.c.d (NAT64): the IPv4 address is the destination.
  if (inBlock(bytes, [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff], 96) || inBlock(bytes, [0x00, 0x64, 0xff, 0x9b], 96)) {
    return v4Range(bytes.slice(12, 16))
  }
  // 6to4: 2002:aabb:ccdd::/48 tunnels to a.b.c.d
  if (inBlock(bytes, [0x20, 0x02], 16)) return v4Range(bytes.slice(2, 6))
  const special = rangeIn(bytes, V6_BLOCKS)
  if (special !== undefined) return special
  return inBlock(bytes, [0x20], 3) ? undefined : "reserved"
}

/** The non-public range `address` (an IP literal, v4 or v6) falls in, or `undefined` when it is public. */
export const nonPublicRange = (address: string): NonPublicRange | undefined => {
  const v4 = parseIPv4(address)
  if (v4 !== undefined) return v4Range(v4)
  const v6 = parseIPv6(address)
  if (v6 !== undefined) return v6Range(v6)
  return "invalid"
}

export const isPublicAddress = (address: string): boolean => nonPublicRange(address) === undefined

/** Whether `host` (as in a URL, IPv6 in brackets or not) is an IP literal rather than a name. */
export const isIpLiteral = (host: string): boolean => {
  const bare = host.startsWith("[") && host.endsWith("]") ? host.slice(1, -1) : host
  return parseIPv4(bare) !== undefined || parseIPv6(bare) !== undefined
}
