// The opossum instance under a breaker, configured through its documented options only.
//
// opossum runs every call (timeout, capacity, error filter, fallback, its rolling
// `status`) and holds the open/closed state, which the state machine sets with
// `open()` and `close()`. Two parts of opossum's own breaker cannot express this
// package's rules, so they are set where they never act:
// - its trip rule counts capacity refusals and calls still running, and has no slow-call
//   rate: `volumeThreshold` is the largest safe integer, so it never trips on its own;
// - its reset timer has one fixed duration on the real clock, while a breaker's open time
//   varies (`trip(ms)`, the fleet's remaining time) and runs on the injected clock:
//   `resetTimeout` is the longest timer delay, and the state machine's timer decides.
import { MAX_TIMER_DELAY_MS } from '@headroom/core'
import CircuitBreaker from 'opossum'
import type { ResolvedBreakerOptions } from './options.js'
import type { Ticker } from './ticker.js'

export function createOpossumCircuit<Args extends unknown[], R>(
  fn: (...args: Args) => Promise<R>,
  o: ResolvedBreakerOptions,
  name: string,
  ticker: Ticker,
): CircuitBreaker<Args, R> {
  const opossumOptions: CircuitBreaker.Options<Args> = {
    name,
    timeout: o.timeout,
    errorThresholdPercentage: o.errorThresholdPercentage,
    volumeThreshold: Number.MAX_SAFE_INTEGER,
    resetTimeout: MAX_TIMER_DELAY_MS,
    rollingCountTimeout: o.rollingCountTimeout,
    rollingCountBuckets: o.rollingCountBuckets,
    // Percentiles come from an O(1) histogram instead of opossum's sort on every read.
    rollingPercentilesEnabled: false,
    enableSnapshots: false,
    // One timer slides opossum's window and the breaker's (shared by a whole registry).
    rotateBucketController: ticker.controller,
    capacity: o.capacity === Number.POSITIVE_INFINITY ? Number.MAX_SAFE_INTEGER : o.capacity,
  }
  if (o.errorFilter) opossumOptions.errorFilter = o.errorFilter as (error: unknown) => boolean
  return new CircuitBreaker<Args, R>(fn, opossumOptions)
}
