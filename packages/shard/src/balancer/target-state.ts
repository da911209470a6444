/** What a balancer knows about one target. */
export interface TargetState<T> {
  readonly target: T
  readonly id: string
  /** `murmur3(id)`: the target's rendezvous seed for `ip-hash`. */
  readonly seed: number
  /** The tier that reserved it, or undefined for a shared target. */
  readonly tier: string | undefined
  inflight: number
  /** Peak-EWMA latency in ms, as of `lastAt`. */
  ewma: number
  lastAt: number
  picks: number
  failures: number
  /** Why it is out (`unhealthy`, `lag`, ...); healthy when empty. */
  readonly reasons: Set<string>
}

/**
 * Records one call's latency: a slower sample replaces the average at once (peak
 * EWMA reacts to a slowdown immediately), a faster one is blended in with a weight
 * that grows with the time since the last sample.
 */
export function recordLatency(state: TargetState<unknown>, ms: number, now: number, decayMs: number): void {
  const decayed = decayedEwma(state, now, decayMs)
  if (ms > decayed) state.ewma = ms
  else {
    const keep = Math.exp(-Math.max(0, now - state.lastAt) / decayMs)
    state.ewma = decayed * keep + ms * (1 - keep)
  }
  state.lastAt = now
}

/** The EWMA decayed toward zero while idle, so a target that was slow gets retried. */
export function decayedEwma(state: TargetState<unknown>, now: number, decayMs: number): number {
  if (state.ewma === 0) return 0
  return state.ewma * Math.exp(-Math.max(0, now - state.lastAt) / decayMs)
}
