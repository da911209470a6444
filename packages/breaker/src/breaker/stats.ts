// `stats()`: turns the breaker's counters, its rolling window's totals and its latency histogram
// into a plain snapshot. Only reads run it; the calls themselves just count.
import type { LatencyHistogram } from '@headroom/core'
import type { BreakerStats } from './types.js'

/** What the breaker counts and knows itself; the rest of a snapshot is derived here. */
export type BreakerCounts = Omit<BreakerStats, 'calls' | 'window' | 'latency' | 'shared'>

export function snapshotStats(
  counts: BreakerCounts,
  window: { calls: number; failures: number; slow: number },
  latency: LatencyHistogram,
  shared: BreakerStats['shared'],
): BreakerStats {
  const calls = window.calls
  const stats: BreakerStats = {
    name: counts.name,
    state: counts.state,
    calls: counts.successes + counts.failures,
    successes: counts.successes,
    failures: counts.failures,
    timeouts: counts.timeouts,
    slowCalls: counts.slowCalls,
    rejects: counts.rejects,
    fallbacks: counts.fallbacks,
    opens: counts.opens,
    openUntil: counts.openUntil,
    inFlight: counts.inFlight,
    window: {
      calls,
      failures: window.failures,
      slowCalls: window.slow,
      failureRate: calls === 0 ? 0 : (window.failures / calls) * 100,
      slowCallRate: calls === 0 ? 0 : (window.slow / calls) * 100,
    },
    latency: latency.summary(),
  }
  if (shared) stats.shared = shared
  return stats
}
