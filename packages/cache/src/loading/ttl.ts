/** Picks an entry's TTL: an explicit one, else the longest matching tier prefix, else the default. */
export interface TtlPolicy {
  /** The TTL for `key` in ms, jittered (never longer than the configured TTL). */
  ttlFor(key: string, explicit?: number): number
}

export function createTtlPolicy(
  defaultTtl: number,
  tiers: Record<string, number>,
  jitter: number,
  random: () => number = Math.random,
): TtlPolicy {
  // Longest prefix first, so `content:daily:` beats `content:`.
  const ordered = Object.entries(tiers).sort((a, b) => b[0].length - a[0].length)
  return {
    ttlFor(key, explicit) {
      let ttl = explicit
      if (ttl === undefined) {
        ttl = defaultTtl
        for (const [prefix, tierTtl] of ordered) {
          if (key.startsWith(prefix)) {
            ttl = tierTtl
            break
          }
        }
      }
      // Jitter only shortens: a TTL is a promise about staleness, never exceeded.
      if (jitter > 0) ttl = ttl * (1 - jitter * random())
      return Math.max(1, Math.round(ttl))
    },
  }
}
