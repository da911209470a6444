// What a balancer knows about one target: calls in flight, the latency average, picks,
// failures and why it is out. The state owns these numbers; the balancer calls its verbs.

import type { TargetStats } from './stats.js'

export class TargetState<T> {
  readonly target: T
  readonly id: string
  /** `murmur3(id)`: the target's rendezvous seed for `ip-hash`. */
  readonly seed: number
  /** The tier that reserved it, or undefined for a shared target. */
  readonly tier: string | undefined
  /** Time constant of the latency EWMA, ms. */
  readonly #decayMs: number
  #inflight = 0
  /** Peak-EWMA latency in ms, as of `#lastAt`. */
  #ewma = 0
  #lastAt = 0
  #picks = 0
  #failures = 0
  /** Why it is out (`unhealthy`, `lag`, ...); healthy when empty. */
  readonly #reasons = new Set<string>()

  constructor(target: T, identity: { id: string; seed: number; tier: string | undefined }, decayMs: number) {
    this.target = target
    this.id = identity.id
    this.seed = identity.seed
    this.tier = identity.tier
    this.#decayMs = decayMs
  }

  get healthy(): boolean {
    return this.#reasons.size === 0
  }

  get inflight(): number {
    return this.#inflight
  }

  reasons(): string[] {
    return [...this.#reasons]
  }

  /** Adds an ejection reason; false when it was already there. */
  eject(reason: string): boolean {
    if (this.#reasons.has(reason)) return false
    this.#reasons.add(reason)
    return true
  }

  /** Removes an ejection reason; false when it was not there. */
  readmit(reason: string): boolean {
    return this.#reasons.delete(reason)
  }

  picked(): void {
    this.#picks++
  }

  /** A call starts on the target. */
  start(): void {
    this.#inflight++
  }

  /**
   * A call ended after `ms` (a failure counted as at least `failurePenaltyMs` when given).
   * A slower sample replaces the average at once (peak EWMA reacts to a slowdown
   * immediately), a faster one is blended in with a weight that grows with the time since
   * the last sample.
   */
  finish(ms: number, now: number, failurePenaltyMs?: number): void {
    this.#inflight--
    if (failurePenaltyMs !== undefined) {
      this.#failures++
      ms = Math.max(ms, failurePenaltyMs)
    }
    const decayed = this.ewma(now)
    if (ms > decayed) this.#ewma = ms
    else {
      const keep = Math.exp(-Math.max(0, now - this.#lastAt) / this.#decayMs)
      this.#ewma = decayed * keep + ms * (1 - keep)
    }
    this.#lastAt = now
  }

  /** The EWMA decayed toward zero while idle, so a target that was slow gets retried. */
  ewma(now: number): number {
    if (this.#ewma === 0) return 0
    return this.#ewma * Math.exp(-Math.max(0, now - this.#lastAt) / this.#decayMs)
  }

  /** The `p2c-ewma` cost: decayed latency times calls in flight plus one. */
  cost(now: number): number {
    return this.ewma(now) * (this.#inflight + 1)
  }

  stats(now: number): TargetStats {
    return {
      id: this.id,
      healthy: this.#reasons.size === 0,
      reasons: [...this.#reasons],
      inflight: this.#inflight,
      ewmaMs: this.ewma(now),
      picks: this.#picks,
      failures: this.#failures,
    }
  }
}
