// What a queue counts in this process (jobs added, settled, stalled; wait and run times),
// for `stats()`. The queue and its workers record through these verbs; the counters are
// private to this class.
import { createLatencyHistogram, type LatencySummary } from '@headroom/core'

/** The counters of `QueueStats` that this process keeps (the store keeps the depths). */
export interface QueueCounters {
  added: number
  processed: number
  failures: number
  retries: number
  stalled: number
  leaseLost: number
  deferredClaims: number
  waitTime: LatencySummary
  runTime: LatencySummary
}

export class QueueMetrics {
  #added = 0
  #processed = 0
  #failures = 0
  #retries = 0
  #stalled = 0
  #leaseLost = 0
  #deferredClaims = 0
  readonly #waitTime = createLatencyHistogram()
  readonly #runTime = createLatencyHistogram()

  /** `count` jobs were added by this process. */
  added(count: number): void {
    this.#added += count
  }
  completed(): void {
    this.#processed++
  }
  /** A job went to the dead-letter state. */
  failed(): void {
    this.#failures++
  }
  retried(): void {
    this.#retries++
  }
  /** A claim recovered a job whose lease had expired. */
  stalled(): void {
    this.#stalled++
  }
  leaseLost(): void {
    this.#leaseLost++
  }
  /** A claim was limited to urgent jobs by load shedding. */
  deferredClaim(): void {
    this.#deferredClaims++
  }
  /** A job waited `ms` between becoming ready and its claim. */
  waited(ms: number): void {
    this.#waitTime.record(ms)
  }
  /** A job's handler ran for `ms`. */
  ran(ms: number): void {
    this.#runTime.record(ms)
  }

  snapshot(): QueueCounters {
    return {
      added: this.#added,
      processed: this.#processed,
      failures: this.#failures,
      retries: this.#retries,
      stalled: this.#stalled,
      leaseLost: this.#leaseLost,
      deferredClaims: this.#deferredClaims,
      waitTime: this.#waitTime.summary(),
      runTime: this.#runTime.summary(),
    }
  }
}
