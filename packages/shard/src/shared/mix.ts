import { fmix32, murmur3 } from '@headroom/core'

/** The per-shard seed every score uses: stable for an id, across processes and restarts. */
export function shardSeed(id: string, seed: number): number {
  return murmur3(id, seed)
}

/**
 * The rendezvous score of (logical shard, shard). For one shard it is a bijection of
 * the logical shard, so two logical shards never tie; across shards it behaves like
 * independent uniform draws, which is what rendezvous hashing needs.
 */
export function pairScore(item: number, seed: number): number {
  return fmix32(fmix32(Math.imul(item + 1, 0x9e3779b1) >>> 0) ^ seed)
}

/**
 * Weighted rendezvous score (Schindelhauer & Schomaker): `weight / -ln(u)` with `u`
 * uniform in (0, 1). The highest wins; each shard then wins a `weight / sum` share.
 */
export function weightedScore(raw: number, weight: number): number {
  return weight / -Math.log((raw + 1) / 4294967297)
}

/**
 * Breaks a tie between two equal weighted scores: the higher raw score wins, then the
 * smaller seed, so the answer never depends on iteration order.
 */
export function winsTie(raw: number, seed: number, bestRaw: number, bestSeed: number): boolean {
  if (raw !== bestRaw) return raw > bestRaw
  return seed < bestSeed
}
