import type { Clock } from '@headroom/core'
import type { ConcurrencyDecision, Lease } from './types.js'

/**
 * Leases held in this process (the store without Redis, and the `local` fallback): per
 * key, each lease's expiry. A key leaves the map with its last lease.
 */
export class MemoryLeases {
  readonly #held = new Map<string, Map<string, number>>()
  readonly #clock: Clock
  readonly #leaseMs: number
  readonly #newId: () => string

  constructor(clock: Clock, leaseMs: number, newId: () => string) {
    this.#clock = clock
    this.#leaseMs = leaseMs
    this.#newId = newId
  }

  acquire(key: string, limit: number, source: 'memory' | 'local'): ConcurrencyDecision {
    const now = this.#clock.now()
    let held = this.#held.get(key)
    if (held === undefined) {
      held = new Map()
      this.#held.set(key, held)
    }
    let earliest = Number.POSITIVE_INFINITY
    for (const [id, expiresAt] of held) {
      if (expiresAt <= now) held.delete(id)
      else if (expiresAt < earliest) earliest = expiresAt
    }
    if (held.size >= limit)
      return {
        allowed: false,
        active: held.size,
        limit,
        retryAfterMs: Math.max(1, earliest - now),
        lease: undefined,
        source,
      }
    const id = this.#newId()
    held.set(id, now + this.#leaseMs)
    const map = held
    const lease: Lease = {
      id,
      key,
      release: async () => {
        map.delete(id)
        if (map.size === 0 && this.#held.get(key) === map) this.#held.delete(key)
      },
    }
    return { allowed: true, active: held.size, limit, retryAfterMs: 0, lease, source }
  }

  /** Leases of `key` not yet expired. */
  active(key: string): number {
    const now = this.#clock.now()
    let n = 0
    for (const expiresAt of this.#held.get(key)?.values() ?? []) if (expiresAt > now) n++
    return n
  }

  clear(): void {
    this.#held.clear()
  }
}
