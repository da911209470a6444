import { type Clock, systemClock } from '@headroom/core'

/**
 * A millisecond reader for measuring RTTs: `performance.now()` (sub-millisecond, monotonic)
 * on the real clock, the injected clock's `now()` otherwise so tests drive it.
 */
export function monotonicNow(clock: Clock): () => number {
  return clock === systemClock ? () => performance.now() : () => clock.now()
}
