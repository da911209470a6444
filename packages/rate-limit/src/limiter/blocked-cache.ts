import type { ResolvedPolicy } from '../algorithms/policy.js'
import type { Decision } from './decision.js'

/** A key known to be refused until a time. */
export interface BlockedEntry {
  until: number
  /** Refuse only calls costing at least this (a refused cost of 5 says nothing about a cost of 1). */
  cost: number
  /** The policy set that refused (a per-request limit may differ); undefined for `block()`, which covers all. */
  policies: readonly ResolvedPolicy[] | undefined
  decision: Decision
}

/**
 * The local fast path: keys known to be refused until a time are refused again
 * without a round trip. Bounded: past `max` entries the oldest is dropped. A refund
 * or reset made by another process is only seen once the entry expires.
 */
export class BlockedCache {
  readonly #entries = new Map<string, BlockedEntry>()
  readonly #max: number

  constructor(max: number) {
    this.#max = max
  }

  get size(): number {
    return this.#entries.size
  }

  /** Whether nothing is cached: asked on every decision, and a method call is cheaper than the `size` getter. */
  isEmpty(): boolean {
    return this.#entries.size === 0
  }

  /** The cached refusal for this call, with `retryAfterMs` brought up to date, or undefined. */
  get(key: string, cost: number, policies: readonly ResolvedPolicy[], now: number): Decision | undefined {
    const entry = this.#entries.get(key)
    if (entry === undefined) return undefined
    if (entry.until <= now) {
      this.#entries.delete(key)
      return undefined
    }
    if (cost < entry.cost || (entry.policies !== undefined && entry.policies !== policies)) return undefined
    const left = entry.until - now
    return {
      ...entry.decision,
      retryAfterMs: left,
      resetMs: Math.max(left, entry.decision.resetMs - (entry.decision.retryAfterMs - left)),
      source: 'blocked',
    }
  }

  set(key: string, entry: BlockedEntry): void {
    if (this.#entries.size >= this.#max && !this.#entries.has(key)) {
      const oldest = this.#entries.keys().next().value
      if (oldest !== undefined) this.#entries.delete(oldest)
    }
    this.#entries.set(key, entry)
  }

  delete(key: string): void {
    this.#entries.delete(key)
  }

  clear(): void {
    this.#entries.clear()
  }
}
