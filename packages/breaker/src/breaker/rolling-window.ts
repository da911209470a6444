/**
 * Call outcomes over the last `buckets` time slices. Totals are kept up to date on
 * every record and every rotation, so reading a rate is O(1) and recording a call is
 * two increments: the closed path pays nothing for it.
 */
export interface RollingWindow {
  /** Records a completed call. */
  record(failed: boolean, slow: boolean): void
  /** Drops the oldest slice and starts a new, empty one. */
  rotate(): void
  /** Forgets everything (on a state change, so old failures do not reopen a fresh circuit). */
  reset(): void
  readonly calls: number
  readonly failures: number
  readonly slow: number
}

export function createRollingWindow(buckets: number): RollingWindow {
  const calls = new Float64Array(buckets)
  const failures = new Float64Array(buckets)
  const slow = new Float64Array(buckets)
  let current = 0
  let totalCalls = 0
  let totalFailures = 0
  let totalSlow = 0

  return {
    get calls() {
      return totalCalls
    },
    get failures() {
      return totalFailures
    },
    get slow() {
      return totalSlow
    },
    record(failed, isSlow) {
      calls[current]!++
      totalCalls++
      if (failed) {
        failures[current]!++
        totalFailures++
      }
      if (isSlow) {
        slow[current]!++
        totalSlow++
      }
    },
    rotate() {
      current = current + 1 === buckets ? 0 : current + 1
      totalCalls -= calls[current]!
      totalFailures -= failures[current]!
      totalSlow -= slow[current]!
      calls[current] = 0
      failures[current] = 0
      slow[current] = 0
    },
    reset() {
      calls.fill(0)
      failures.fill(0)
      slow.fill(0)
      totalCalls = 0
      totalFailures = 0
      totalSlow = 0
    },
  }
}
