// The requests a monitor records: the window since the last sample (what the status
// reads) and the counters since start (what stats() and Prometheus read). Requests
// refused because a dependency is unavailable count in the rate but not in the error
// rate or latency: they are not overload, and shedding healthy traffic would not bring
// the dependency back.
import { createLatencyHistogram } from '@headroom/core'
import type { Series } from '../history/series.js'
import type { HealthStats } from './types.js'

/** How a request ended: 0 ok, 1 error, 2 dependency. */
export type OutcomeCode = 0 | 1 | 2

/** Reads recordRequest's outcome; anything but the documented values throws. */
export function outcomeCode(outcome: unknown): OutcomeCode {
  if (outcome === true || outcome === 'ok') return 0
  if (outcome === false || outcome === 'error') return 1
  if (outcome === 'dependency') return 2
  throw new TypeError(
    `recordRequest: outcome must be true, false, 'ok', 'error' or 'dependency' (received ${String(outcome)})`,
  )
}

/** The request part of a sample: the window that just ended. */
export interface WindowSummary {
  requests: number
  errors: number
  dependencyFailures: number
  requestRate: number
  errorRate: number | undefined
  latencyP99: number | undefined
}

export class RequestWindow {
  readonly #series: Series
  readonly #minRequests: number
  readonly #latency = createLatencyHistogram()
  readonly #lifetimeLatency = createLatencyHistogram()
  #count = 0
  #errors = 0
  #dependency = 0
  #start: number
  #total = 0
  #totalErrors = 0
  #totalDependency = 0
  #durationSum = 0

  /** `series` receives every request; a window needs `minRequests` served ones before its error rate and latency count. */
  constructor(series: Series, minRequests: number, start: number) {
    this.#series = series
    this.#minRequests = minRequests
    this.#start = start
  }

  /** Records one request (every request's path: no allocation). */
  record(
    timestamp: number,
    durationMs: number,
    code: OutcomeCode,
    labels: Readonly<Record<string, string>> | undefined,
  ): void {
    this.#series.push(timestamp, durationMs, code === 0, labels)
    this.#count++
    this.#total++
    this.#durationSum += durationMs
    if (code === 2) {
      this.#dependency++
      this.#totalDependency++
      return
    }
    this.#latency.record(durationMs)
    if (code === 1) {
      this.#errors++
      this.#totalErrors++
    }
  }

  /** Ends the window at `now` and starts the next one. */
  close(now: number): WindowSummary {
    const elapsed = Math.max(1, now - this.#start)
    const served = this.#count - this.#dependency
    const enough = served > 0 && served >= this.#minRequests
    const summary: WindowSummary = {
      requests: this.#count,
      errors: this.#errors,
      dependencyFailures: this.#dependency,
      requestRate: (this.#count * 1000) / elapsed,
      errorRate: enough ? this.#errors / served : undefined,
      latencyP99: enough ? this.#latency.quantile(0.99) : undefined,
    }
    this.#lifetimeLatency.merge(this.#latency)
    this.#latency.reset()
    this.#count = 0
    this.#errors = 0
    this.#dependency = 0
    this.#start = now
    return summary
  }

  /** The counters since start, the open window included. */
  totals(): HealthStats['requests'] {
    const lifetime = createLatencyHistogram()
    lifetime.merge(this.#lifetimeLatency)
    lifetime.merge(this.#latency)
    return {
      total: this.#total,
      errors: this.#totalErrors,
      dependencyFailures: this.#totalDependency,
      durationSumMs: this.#durationSum,
      latency: lifetime.summary(),
    }
  }
}
