// What a worker keeps about each job it holds a lease on, from claim to acknowledgement;
// shared by the worker loop and the modules that time out, renew and report its leases.
import type { TimerHandle } from '@headroom/core'

export interface Lease {
  id: string
  token: string
  name: string
  attempt: number
  maxAttempts: number
  /** Made on first use: most handlers never read their signal, and an AbortController is not free. */
  controller: AbortController | undefined
  /** The timeout shared by the jobs of one claim that have the same per-attempt timeout. */
  timeouts: TimeoutGroup | undefined
  startedAt: number
  runMs: number
  /** The handler has finished (or was abandoned). */
  done: boolean
  /** Heartbeat learned the lease moved on: settling would be refused. */
  lost: boolean
}

/** One timer for the jobs of a claim with the same timeout: they all started in the same tick. */
export interface TimeoutGroup {
  ms: number
  leases: Lease[]
  /** Leases of the group still running; the timer is cleared when it drops to 0. */
  left: number
  timer: TimerHandle | undefined
}
