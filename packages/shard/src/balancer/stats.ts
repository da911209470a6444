// The snapshot `stats()` returns. Built only when stats are read, never on a pick.
import type { BalancerStrategy } from './options.js'
import { decayedEwma, type TargetState } from './target-state.js'

/** A snapshot of a {@link Balancer}. */
export interface BalancerStats {
  strategy: BalancerStrategy
  targets: number
  healthy: number
  picks: number
  /** Picks that found no healthy target. */
  exhausted: number
  perTarget: {
    id: string
    healthy: boolean
    reasons: string[]
    inflight: number
    ewmaMs: number
    picks: number
    failures: number
  }[]
}

/** The snapshot of `states` at `now`, with the balancer's pick counters. */
export function balancerStats<T>(
  strategy: BalancerStrategy,
  states: ReadonlyMap<T, TargetState<T>>,
  picks: number,
  exhausted: number,
  now: number,
  decayMs: number,
): BalancerStats {
  const perTarget = [...states.values()].map((s) => ({
    id: s.id,
    healthy: s.reasons.size === 0,
    reasons: [...s.reasons],
    inflight: s.inflight,
    ewmaMs: decayedEwma(s, now, decayMs),
    picks: s.picks,
    failures: s.failures,
  }))
  return {
    strategy,
    targets: states.size,
    healthy: perTarget.filter((t) => t.healthy).length,
    picks,
    exhausted,
    perTarget,
  }
}
