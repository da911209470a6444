/**
 * One observation fed to a limit algorithm: how long a unit of work took, how
 * much work was in flight (or wanted to be) when it ran, and whether it was dropped.
 */
export interface LimitSample {
  /** Round-trip time of the work, in milliseconds (a query's execution time, a call's latency). */
  rtt: number
  /**
   * Work in flight when the sample was taken. Algorithms refuse to grow when this is far
   * below the limit: a limit nobody uses says nothing about the system's capacity.
   */
  inflight: number
  /** The work timed out, was refused or failed from overload (a drop in Netflix terms). */
  dropped: boolean
}

/** Bounds every algorithm clamps its limit into. */
export interface LimitBounds {
  /** Smallest limit. */
  minLimit: number
  /** Largest limit. */
  maxLimit: number
}

export function clampLimit(limit: number, bounds: LimitBounds): number {
  return Math.max(bounds.minLimit, Math.min(bounds.maxLimit, limit))
}
