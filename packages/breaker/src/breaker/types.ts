import type { LatencySummary, Subscribable } from '@headroom/core'
import type CircuitBreaker from 'opossum'
import type { OpenReason } from './thresholds.js'

/** `closed`: calls flow; `open`: calls are refused; `half-open`: a few probe calls test the dependency. */
export type BreakerState = 'closed' | 'open' | 'half-open'

/** Why the state changed. */
export type TransitionReason = OpenReason | 'reset-timeout' | 'probes-passed'

/** Payload of `state`, `open`, `halfOpen` and `close`. */
export interface StateChange {
  name: string
  state: BreakerState
  previous: BreakerState
  reason: TransitionReason
  /** True when another instance of a shared breaker caused it (pub/sub or a state read). */
  remote: boolean
  /** When it changed (ms since the epoch, the breaker's clock). */
  at: number
  /** How long the breaker stays open (for `open`), in ms. */
  openMs?: number
}

/** The typed events of a breaker, in opossum's vocabulary plus `state`, `slow` and `sharedError`. */
export interface BreakerEvents {
  [event: string]: unknown
  /** Every state change (the one event a health monitor or balancer needs). */
  state: StateChange
  open: StateChange
  halfOpen: StateChange
  close: StateChange
  success: { name: string; latencyMs: number }
  /** The function failed or timed out (timeouts also emit `timeout`). */
  failure: { name: string; error: unknown; latencyMs: number }
  timeout: { name: string; error: Error; latencyMs: number }
  /** A call took at least `slowCallMs` (success or failure). */
  slow: { name: string; latencyMs: number; failed: boolean }
  /** A call was refused (open, half-open without a free probe slot, or at capacity). */
  reject: { name: string; error: Error }
  fallback: { name: string; error: unknown }
  /** A Redis operation of a shared breaker failed; the breaker went on with local state. */
  sharedError: { name: string; operation: string; error: unknown }
}

/** A plain snapshot of a breaker. */
export interface BreakerStats {
  name: string
  state: BreakerState
  /** Calls that ran the function (completed). */
  calls: number
  successes: number
  /** Failures, timeouts included. */
  failures: number
  timeouts: number
  slowCalls: number
  /** Calls refused: open, half-open with its probes out, or over capacity. */
  rejects: number
  fallbacks: number
  /** Times the breaker opened (for any reason, remote included). */
  opens: number
  /** While open: when (the breaker's clock) it next tries to half-open. */
  openUntil: number | undefined
  /** Calls running now. */
  inFlight: number
  /** The rolling window the closed state decides on. */
  window: { calls: number; failures: number; slowCalls: number; failureRate: number; slowCallRate: number }
  /** Latency of completed calls, in ms. */
  latency: LatencySummary
  /** Present for a shared breaker. */
  shared?: {
    name: string
    /** `redis` while Redis answers; `local` while the breaker runs on its own state. */
    mode: 'redis' | 'local'
    storeErrors: number
    /** Half-open leases this instance won. */
    probeLeases: number
  }
}

/** What a health monitor reads: `fail` for an open breaker on a critical dependency. */
export interface BreakerHealth {
  name: string
  status: 'pass' | 'warn' | 'fail'
  state: BreakerState
  critical: boolean
  /** When the state last changed (ms since the epoch, the breaker's clock). */
  since: number
}

/** A circuit breaker around one async function. */
export interface Breaker<Args extends unknown[] = unknown[], R = unknown>
  extends Subscribable<BreakerEvents> {
  readonly name: string
  readonly state: BreakerState
  /**
   * Calls the function through the breaker. Rejects with `E_CIRCUIT_OPEN` when open,
   * `E_TIMEOUT` past `timeout`, `E_OVERLOADED` over `capacity`, `E_CLOSED` after
   * `close()`, or the function's own error; with a `fallback`, resolves with it instead.
   */
  fire(...args: Args): Promise<R>
  /** True unless open (half-open counts as available: it takes probes). */
  isAvailable(): boolean
  /** Opens now for `ms` (default `resetTimeout`); a shared breaker opens the whole fleet. */
  trip(ms?: number): void
  /** Closes now and clears the window; a shared breaker closes the whole fleet. */
  reset(): void
  /**
   * Resolves once a shared breaker listens to its fleet (at once for a local one):
   * before that, an instance opening elsewhere is learnt only by the state read.
   */
  ready(): Promise<void>
  /** The current `AbortSignal` of `abortController`, if one was given. */
  readonly signal: AbortSignal | undefined
  /** The opossum instance underneath (its `status` window and events). */
  readonly circuit: CircuitBreaker<Args, R>
  stats(): BreakerStats
  /**
   * A health input: `pass` when closed, `warn` when half-open (or open on a
   * non-critical dependency), `fail` when open on a critical one.
   */
  toHealthCheck(options?: { critical?: boolean }): () => BreakerHealth
  /** Clears every timer, leaves the shared state and refuses further calls with `E_CLOSED`. */
  close(): Promise<void>
}
