// The balancer's public shape: what a pick may depend on and what a balancer offers.
import type { Subscribable } from '@headroom/core'
import type { BalancerEvents } from './events.js'
import type { BalancerStats } from './stats.js'

/** What a pick may depend on. */
export interface PickContext {
  /** The client key for `ip-hash` (an IP, a user id). */
  key?: string
  /** The caller's tier, for tier routing (`reserved`). */
  tier?: string
}

/** Chooses a target per call among healthy ones. */
export interface Balancer<T> extends Subscribable<BalancerEvents<T>> {
  /** A healthy target; throws {@link NoHealthyTargetError} when none is left. */
  pick(context?: PickContext): T
  /** Like `pick`, but `undefined` when none is healthy. */
  tryPick(context?: PickContext): T | undefined
  /**
   * Marks a call on `target` as started (in flight) and returns the function that ends
   * it; `end(false)` records a failure. Feeds `least-connections` and `p2c-ewma`.
   */
  begin(target: T): (ok?: boolean) => void
  /** Picks, runs `fn` on the target and records its latency and outcome. */
  run<R>(fn: (target: T) => R | Promise<R>, context?: PickContext): Promise<R>
  /**
   * Takes a target out of rotation (a breaker opened, a health check failed). Reasons
   * stack: a target comes back when every reason it was ejected for is readmitted.
   */
  eject(target: T, reason?: string): void
  /** Puts a target back for `reason`. */
  readmit(target: T, reason?: string): void
  isHealthy(target: T): boolean
  /** Why a target is ejected (empty when healthy). */
  reasons(target: T): string[]
  /** True when the balancer holds `target`. */
  has(target: T): boolean
  /** Healthy targets, shared and reserved. */
  healthy(): T[]
  stats(): BalancerStats
}
