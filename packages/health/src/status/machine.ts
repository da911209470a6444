import { type HealthStatus, severity } from './status.js'

/** Options of {@link createStatusMachine}. */
export interface StatusMachineOptions {
  /** How long a worse status must persist before it is adopted, ms. 0 adopts it at once. */
  enterDwellMs: number
  /** How long a better status must persist before it is adopted, ms. */
  exitDwellMs: number
}

/** Turns a stream of raw statuses into a status that does not flap. */
export interface StatusMachine {
  readonly status: HealthStatus
  /** Time of the last change (or of creation). */
  readonly since: number
  /**
   * Feeds the raw status observed at `now`; returns the new status when it changed.
   * `immediate` (part of `raw`) is adopted without the enter dwell.
   */
  update(raw: HealthStatus, now: number, immediate?: HealthStatus): HealthStatus | undefined
}

/**
 * Dwell time on both sides: a worse raw status is adopted after it has held for
 * `enterDwellMs`, a better one after it has held for `exitDwellMs`; the status then
 * drops only as far as the worst raw status seen during that wait. The `immediate`
 * part of a raw status (verdicts other components already debounced, such as a
 * breaker that opened) skips the enter dwell: waiting again would only delay them.
 */
export function createStatusMachine(options: StatusMachineOptions, start: number): StatusMachine {
  let status: HealthStatus = 'healthy'
  let since = start
  let worseSince: number | undefined
  let betterSince: number | undefined
  let betterWorst: HealthStatus = 'healthy'

  const adopt = (next: HealthStatus, now: number) => {
    status = next
    since = now
    worseSince = undefined
    betterSince = undefined
    return next
  }

  return {
    get status() {
      return status
    },
    get since() {
      return since
    },
    update(raw, now, immediate = 'healthy') {
      const rawSeverity = severity(raw)
      if (severity(immediate) > severity(status)) {
        const pendingSince = worseSince
        adopt(immediate, now)
        // What is worse still (a metric) keeps the dwell it had already served.
        if (rawSeverity > severity(immediate)) worseSince = pendingSince ?? now
        return immediate
      }
      const current = severity(status)
      if (rawSeverity > current) {
        betterSince = undefined
        worseSince ??= now
        if (now - worseSince >= options.enterDwellMs) return adopt(raw, now)
        return undefined
      }
      worseSince = undefined
      if (rawSeverity === current) {
        betterSince = undefined
        return undefined
      }
      if (betterSince === undefined) {
        betterSince = now
        betterWorst = raw
      } else if (rawSeverity > severity(betterWorst)) {
        betterWorst = raw
      }
      if (now - betterSince >= options.exitDwellMs) return adopt(betterWorst, now)
      return undefined
    },
  }
}
