import type { BalancerStrategy } from './options.js'

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

/** One target's row of {@link BalancerStats}. */
export type TargetStats = BalancerStats['perTarget'][number]
