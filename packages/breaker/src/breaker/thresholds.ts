/** What trips a breaker: the pure decision rules, shared by the closed and half-open states. */
export interface Thresholds {
  errorThresholdPercentage: number
  slowCallMs: number
  slowCallRate: number
}

/** Why a breaker opened. */
export type OpenReason = 'failures' | 'slow-calls' | 'probe-failed' | 'manual' | 'remote'

/**
 * Decides whether outcomes trip the breaker: the failure rate above
 * `errorThresholdPercentage` (opossum's rule, strictly above), or, with slow-call
 * detection on, the slow-call rate at or above `slowCallRate` (resilience4j's rule).
 */
export function tripReason(
  calls: number,
  failures: number,
  slow: number,
  thresholds: Thresholds,
): OpenReason | undefined {
  if (calls <= 0) return undefined
  if ((failures / calls) * 100 > thresholds.errorThresholdPercentage) return 'failures'
  if (thresholds.slowCallMs > 0 && (slow / calls) * 100 >= thresholds.slowCallRate) return 'slow-calls'
  return undefined
}
