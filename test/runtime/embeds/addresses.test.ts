// The outbound address classifier (DECISIONS.md "outbound resolution"): every special-purpose range,
// its edges on both sides, and the IPv6 forms that carry an IPv4 address.
import { describe, expect, it } from "vitest"
import { isIpLiteral, isPublicAddress, nonPublicRange, parseIPv4, parseIPv6 } from "../../../src/runtime/embeds/addresses.js"

const expectRanges = (table: ReadonlyArray<readonly [string, string | undefined]>) => {
  for (const [address, range] of table) expect([address, nonPublicRange(address)]).toEqual([address, range])
}

describe("IPv4", () => {
  it("refuses every special-purpose range, first and last address", () => {
    expectRanges([
      ["0.0.0.0", "this-network"],
      ["0.255.255.255", "this-network"],
      ["10.0.0.0", "private"],
      ["10.0.0.1", "private"],
      ["10.255.255.255", "private"],
      ["100.64.0.0", "shared"],
      ["100.100.100.200", "shared"], // Alibaba Cloud metadata
      ["100.127.255.255", "shared"],
      ["127.0.0.1", "loopback"],
      ["127.0.0.0", "loopback"],
      ["127.255.255.254", "loopback"],
      ["169.254.0.0", "link-local"],
      ["169.254.169.254", "link-local"], // AWS, GCP, Azure metadata
      ["169.254.255.255", "link-local"],
      ["172.16.0.0", "private"],
      ["172.31.255.255", "private"],
      ["192.0.0.0", "ietf-protocol"],
      ["192.0.0.192", "ietf-protocol"], // Oracle Cloud metadata
      ["192.0.0.255", "ietf-protocol"],
      ["192.0.2.1", "documentation"],
      ["192.88.99.1", "relay"],
      ["192.168.0.0", "private"],
      ["192.168.1.1", "private"],
      ["192.168.255.255", "private"],
      ["198.18.0.0", "benchmarking"],
      ["198.19.255.255", "benchmarking"],
      ["198.51.100.7", "documentation"],
      ["203.0.113.9", "documentation"],
      ["224.0.0.1", "multicast"],
      ["239.255.255.250", "multicast"],
      ["240.0.0.1", "reserved"],
      ["255.255.255.254", "reserved"],
      ["255.255.255.255", "broadcast"]
    ])
  })

  it("accepts the public addresses just outside each range", () => {
    expectRanges([
      ["1.0.0.0", undefined],
      ["1.1.1.1", undefined],
      ["8.8.8.8", undefined],
      ["9.255.255.255", undefined],
      ["11.0.0.0", undefined],
      ["100.63.255.255", undefined],
      ["100.128.0.0", undefined],
      ["126.255.255.255", undefined],
      ["128.0.0.0", undefined],
      ["169.253.255.255", undefined],
      ["169.255.0.0", undefined],
      ["172.15.255.255", undefined],
      ["172.32.0.0", undefined],
      ["192.0.1.0", undefined],
      ["192.0.3.0", undefined],
      ["192.88.98.255", undefined],
      ["192.167.255.255", undefined],
      ["192.169.0.0", undefined],
      ["198.17.255.255", undefined],
      ["198.20.0.0", undefined],
      ["198.51.99.255", undefined],
      ["203.0.112.255", undefined],
      ["223.255.255.255", undefined],
      ["93.184.216.34", undefined]
    ])
  })

  it("parses strict dotted quads only", () => {
    expect(parseIPv4("127.0.0.1")).toEqual([127, 0, 0, 1])
    for (const bad of ["127.1", "0x7f.0.0.1", "0177.0.0.1", "256.0.0.1", "1.2.3.4.5", "1.2.3.", "", " 1.2.3.4", "2130706433"]) {
      expect([bad, parseIPv4(bad)]).toEqual([bad, undefined])
    }
  })
})

describe("IPv6", () => {
  it("refuses loopback, unspecified, unique-local, link-local, site-local, multicast and special blocks", () => {
    expectRanges([
      ["::", "unspecified"],
      ["::1", "loopback"],
      ["0:0:0:0:0:0:0:1", "loopback"],
      ["fc00::1", "unique-local"],
      ["fd00:ec2::254", "unique-local"], // AWS metadata over IPv6
      ["fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "unique-local"],
      ["fe80::1", "link-local"],
      ["fe80::1%eth0", "link-local"],
      ["febf:ffff::1", "link-local"],
      ["fec0::1", "site-local"],
      ["ff02::1", "multicast"],
      ["ff05::1:3", "multicast"],
      ["100::1", "discard"],
      ["2001:db8::1", "documentation"],
      ["3fff::1", "documentation"],
      ["2001::1", "ietf-protocol"], // Teredo
      ["2001:2::1", "ietf-protocol"], // benchmarking
      ["2001:1ff:ffff::1", "ietf-protocol"],
      ["64:ff9b:1::1", "nat64-local"],
      ["::2", "reserved"],
      ["::7f00:1", "reserved"], // IPv4-compatible, deprecated
      ["::ffff:0:7f00:1", "reserved"], // IPv4-translated
      ["4000::1", "reserved"],
      ["5f00::1", "reserved"] // SRv6 SIDs
    ])
  })

  it("judges IPv4-mapped, NAT64 and 6to4 addresses by the IPv4 address they carry", () => {
    expectRanges([
      ["::ffff:127.0.0.1", "loopback"],
      ["::ffff:7f00:1", "loopback"],
      ["::FFFF:7F00:0001", "loopback"],
      ["0:0:0:0:0:ffff:a00:1", "private"],
      ["::ffff:10.0.0.1", "private"],
      ["::ffff:169.254.169.254", "link-local"],
      ["::ffff:a9fe:a9fe", "link-local"],
      ["::ffff:192.168.0.1", "private"],
      ["::ffff:0.0.0.0", "this-network"],
      ["::ffff:8.8.8.8", undefined],
      ["64:ff9b::127.0.0.1", "loopback"],
      ["64:ff9b::a9fe:a9fe", "link-local"],
      ["64:ff9b::10.1.2.3", "private"],
      ["64:ff9b::8.8.8.8", undefined],
      ["2002:7f00:1::1", "loopback"],
      ["2002:a9fe:a9fe::", "link-local"],
      ["2002:c0a8:101::1", "private"],
      ["2002:808:808::1", undefined]
    ])
  })

  it("accepts global unicast", () => {
    expectRanges([
      ["2000::", undefined],
      ["2001:200::1", undefined], // just past 2001::/23
      ["2001:4860:4860::8888", undefined],
      ["2606:4700:4700::1111", undefined],
      ["2a00:1450:4001:80b::200e", undefined],
      ["2001:db9::1", undefined],
      ["3ffe:ffff::1", undefined],
      ["3fff:1000::1", undefined] // just past 3fff::/20
    ])
  })

  it("parses every textual form and refuses malformed ones", () => {
    expect(parseIPv6("::1")).toEqual([...new Array<number>(15).fill(0), 1])
    expect(parseIPv6("1:2:3:4:5:6:7:8")).toEqual([0, 1, 0, 2, 0, 3, 0, 4, 0, 5, 0, 6, 0, 7, 0, 8])
    expect(parseIPv6("::ffff:1.2.3.4")).toEqual([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 1, 2, 3, 4])
    expect(parseIPv6("1::")).toEqual([0, 1, ...new Array<number>(14).fill(0)])
    for (const bad of ["", ":::", "1::2::3", "1:2:3:4:5:6:7", "1:2:3:4:5:6:7:8:9", "1:2:3:4::5:6:7:8", "12345::", "g::1", "::1.2.3", "::ffff:1.2.3.256", "[::1]"]) {
      expect([bad, parseIPv6(bad)]).toEqual([bad, undefined])
    }
  })
})

describe("anything else", () => {
  it("is not public", () => {
    for (const text of ["", "localhost", "example.com", "127.1", "not an address", "::g"]) {
      expect([text, nonPublicRange(text)]).toEqual([text, "invalid"])
      expect(isPublicAddress(text)).toBe(false)
    }
  })

  it("tells IP literals from host names", () => {
    expect(isIpLiteral("127.0.0.1")).toBe(true)
    expect(isIpLiteral("[::1]")).toBe(true)
    expect(isIpLiteral("::1")).toBe(true)
    expect(isIpLiteral("localhost")).toBe(false)
    expect(isIpLiteral("1.2.3.4.nip.io")).toBe(false)
  })
})
