// The opossum instance under a breaker: configured so it runs calls but never changes
// state on its own, plus the opossum 9 members its type definitions do not declare.
import { MAX_TIMER_DELAY_MS } from '@headroom/core'
import CircuitBreaker from 'opossum'
import type { ResolvedBreakerOptions } from './options.js'
import type { Ticker } from './ticker.js'

/** opossum 9 members its type definitions (8.x) do not declare. */
export interface OpossumInternals {
  options: { abortController?: AbortController }
  semaphore: { count: number }
  getSignal(): AbortSignal | undefined
}

export interface OpossumCircuit<Args extends unknown[], R> {
  circuit: CircuitBreaker<Args, R>
  internals: OpossumInternals
  /** opossum's semaphore size (`capacity`, with Infinity as the largest safe integer). */
  capacity: number
}

export function createOpossumCircuit<Args extends unknown[], R>(
  fn: (...args: Args) => Promise<R>,
  o: ResolvedBreakerOptions,
  name: string,
  ticker: Ticker,
): OpossumCircuit<Args, R> {
  const capacity = o.capacity === Number.POSITIVE_INFINITY ? Number.MAX_SAFE_INTEGER : o.capacity

  // opossum's own rule: renewal without a controller means one is made.
  const abortController =
    o.abortController ?? (o.autoRenewAbortController ? new AbortController() : undefined)

  const opossumOptions: CircuitBreaker.Options<Args> = {
    name,
    timeout: o.timeout,
    // opossum must never change state on its own: its rate check (errorRate > 100) cannot
    // hold and its reset timer is never armed, because it is never opened. It stays
    // closed and runs calls; the breaker's state machine decides who may call.
    errorThresholdPercentage: 100,
    resetTimeout: MAX_TIMER_DELAY_MS,
    volumeThreshold: 0,
    rollingCountTimeout: o.rollingCountTimeout,
    rollingCountBuckets: o.rollingCountBuckets,
    // Percentiles come from an O(1) histogram instead of opossum's sort on every read.
    rollingPercentilesEnabled: false,
    enableSnapshots: false,
    // One timer slides opossum's window and ours (shared by a whole registry).
    rotateBucketController: ticker.controller,
    capacity,
  }
  if (o.errorFilter) opossumOptions.errorFilter = o.errorFilter as (error: unknown) => boolean
  if (abortController) opossumOptions.abortController = abortController
  const circuit = new CircuitBreaker<Args, R>(fn, opossumOptions)
  return { circuit, internals: circuit as unknown as OpossumInternals, capacity }
}

/** With `autoRenewAbortController`, swaps an aborted controller for a fresh one (on half-open and close). */
export function renewAbortController(internals: OpossumInternals, autoRenew: boolean): void {
  const current = internals.options.abortController
  if (autoRenew && current?.signal.aborted) internals.options.abortController = new AbortController()
}
