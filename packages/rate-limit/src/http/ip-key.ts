import { isIP } from 'node:net'

/**
 * The rate-limit key of a client address: IPv4 as is, IPv4-mapped IPv6
 * (`::ffff:1.2.3.4`) folded to its IPv4 form, and IPv6 reduced to its /`subnet`
 * prefix (default /56, the usual residential delegation), so one subscriber cannot
 * dodge a limit by rotating through the 2^72 addresses it owns.
 *
 * @example
 * ipKey('2001:db8:1234:5678::1')   // '2001:db8:1234:5600::/56'
 * ipKey('::ffff:203.0.113.9')      // '203.0.113.9'
 */
export function ipKey(address: string | undefined, subnet = 56): string {
  if (!address) return 'unknown'
  const ip = address.startsWith('[') && address.endsWith(']') ? address.slice(1, -1) : address
  const zone = ip.indexOf('%')
  const bare = zone === -1 ? ip : ip.slice(0, zone)
  const family = isIP(bare)
  if (family === 4) return bare
  if (family !== 6) return address
  const groups = expandIPv6(bare)
  // ::ffff:a.b.c.d (RFC 4291 §2.5.5.2) is an IPv4 client on a dual-stack socket.
  if (
    groups[0] === 0 &&
    groups[1] === 0 &&
    groups[2] === 0 &&
    groups[3] === 0 &&
    groups[4] === 0 &&
    groups[5] === 0xffff
  ) {
    const hi = groups[6]!
    const lo = groups[7]!
    return `${hi >> 8}.${hi & 0xff}.${lo >> 8}.${lo & 0xff}`
  }
  const bits = Math.max(0, Math.min(128, subnet))
  const kept: string[] = []
  for (let i = 0; i < 8 && i * 16 < bits; i++) {
    const take = Math.min(16, bits - i * 16)
    const mask = take === 16 ? 0xffff : (0xffff << (16 - take)) & 0xffff
    kept.push((groups[i]! & mask).toString(16))
  }
  return bits === 128 ? kept.join(':') : `${kept.join(':')}::/${bits}`
}

/** The eight 16-bit groups of a valid IPv6 address (handles `::` and a dotted IPv4 tail). */
export function expandIPv6(address: string): number[] {
  let text = address.toLowerCase()
  const dotted = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text)
  if (dotted) {
    const [a, b, c, d] = dotted.slice(1).map(Number) as [number, number, number, number]
    text = `${text.slice(0, dotted.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`
  }
  const [head = '', tail] = text.split('::')
  const left = head === '' ? [] : head.split(':')
  const right = tail === undefined || tail === '' ? [] : tail.split(':')
  const zeros = tail === undefined ? 0 : 8 - left.length - right.length
  return [...left, ...new Array<string>(zeros).fill('0'), ...right].map((group) => Number.parseInt(group, 16))
}
