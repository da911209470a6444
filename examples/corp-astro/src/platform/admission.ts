import type { Request, RequestHandler } from 'express'
import { sendProblem } from '../http/problem.js'

/** How requests are ranked for refusal: the same ranks as the health shedder's. */
export type AdmissionPriority = 'critical' | 'high' | 'low'

export interface LagControllerOptions {
  /** Event-loop lag the controller steers to, ms. */
  targetLagMs: number
  /** Event-loop utilization (0..1) from which the loop counts as saturated. @default 0.9 */
  saturation?: number
}

/**
 * The refusal share, from the event-loop lag, as PIE (RFC 8033) steers a router queue.
 *
 * Past capacity a Node process falls behind on its event loop, and every request then
 * waits for the loop, served and refused alike, until clients time out and reconnect,
 * which costs more again. The loop's lag is that wait, so refusing a share of new
 * requests that grows while the lag stays above the target, and shrinks once it is
 * below, keeps the wait near the target: the work admitted is what the CPU can do.
 * A status from one-second samples with a dwell (the health monitor's) reacts in
 * seconds; this reacts within a few ticks.
 *
 * Lag alone is not overload: on a shared host the process also lags when it is not
 * scheduled, and refusing then frees nothing. So the share grows only while the loop
 * is also saturated (its utilization, the share of time it was not waiting for I/O,
 * is at least `saturation`): work is queueing in this process.
 *
 * Pure: the caller feeds it lag and utilization samples with the time between them.
 */
export class LagController {
  readonly #targetLagMs: number
  readonly #saturation: number
  #smoothedLagMs = 0
  #smoothedUtilization = 0
  #share = 0

  constructor(options: LagControllerOptions) {
    if (!(options.targetLagMs > 0))
      throw new RangeError(`targetLagMs must be > 0 (received ${options.targetLagMs})`)
    const saturation = options.saturation ?? 0.9
    if (!(saturation > 0 && saturation <= 1))
      throw new RangeError(`saturation must be in (0, 1] (received ${options.saturation})`)
    this.#targetLagMs = options.targetLagMs
    this.#saturation = saturation
  }

  /** The share of new low-priority requests refused now, 0..1 (high priority: see `refuses`). */
  get share(): number {
    return this.#share
  }

  get smoothedLagMs(): number {
    return this.#smoothedLagMs
  }

  /**
   * One sample, taken `elapsedMs` after the previous one: the loop's lag (`lagMs`) and
   * its utilization over those ms (`utilization`, 0..1).
   */
  observe(lagMs: number, utilization: number, elapsedMs: number): void {
    // Averages over time, whatever the ticks' spacing (a saturated loop runs them late):
    // the lag over about 40 ms, so one long GC pause moves it and a run of them is needed
    // to act; the utilization over about 200 ms, so a burst of work is not saturation.
    const elapsed = Math.max(0, elapsedMs)
    this.#smoothedLagMs += (1 - Math.exp(-elapsed / 40)) * (Math.max(0, lagMs) - this.#smoothedLagMs)
    this.#smoothedUtilization +=
      (1 - Math.exp(-elapsed / 200)) * (Math.min(1, Math.max(0, utilization)) - this.#smoothedUtilization)
    const seconds = Math.min(elapsedMs, 1000) / 1000
    const excess = (this.#smoothedLagMs - this.#targetLagMs) / this.#targetLagMs
    let share = this.#share
    if (excess > 0 && this.#smoothedUtilization >= this.#saturation) {
      // Twice the target lag raises the share by 1 a second; far above it, faster.
      share += Math.min(excess, 4) * seconds
    } else if (this.#smoothedLagMs < this.#targetLagMs / 2) {
      // Well under the target: admit everything again within about two seconds.
      share -= 0.5 * seconds
    } else {
      share -= 0.1 * seconds
    }
    this.#share = Math.min(1, Math.max(0, share))
  }

  /**
   * Whether a request of `priority` is refused, given a uniform `draw` in [0, 1).
   * Low priority goes first; high only once low is refused entirely and the lag
   * still stays up; critical never.
   */
  refuses(priority: AdmissionPriority, draw: number): boolean {
    const share = this.#share
    if (share === 0 || priority === 'critical') return false
    if (priority === 'low') return draw < 2 * share
    return draw < 2 * share - 1
  }
}

export interface AdmissionOptions {
  /** Event-loop lag to steer to, ms. */
  targetLagMs: number
  /** The request's rank. */
  priority: (req: Request) => AdmissionPriority
  /** `Retry-After` of a refusal, seconds. */
  retryAfterSeconds: number
  /**
   * Requests this process must have in flight before it refuses any: a lagging loop with
   * fewer is busy with something other than requests (a test, a GC, a job), and
   * refusing frees nothing. @default 8
   */
  minInFlight?: number
}

export interface Admission {
  middleware: RequestHandler
  stats(): {
    refused: number
    admitted: number
    inFlight: number
    share: number
    lagMs: number
    sampling: boolean
  }
  close(): void
}

/** Lag samples every this many ms while requests arrive. */
const TICK_MS = 10
/** The sampler stops after this long without a request, so an idle process wakes for nothing. */
const IDLE_AFTER_MS = 1000

/**
 * Admission control in front of the API: refuses a share of new requests at once
 * (503 + `Retry-After`, before any work is done for them) while the event loop lags,
 * lowest priority first. The lag is sampled by a 10 ms timer that runs only while
 * requests arrive.
 */
export function createAdmission(options: AdmissionOptions): Admission {
  const controller = new LagController({ targetLagMs: options.targetLagMs })
  const retryAfter = String(options.retryAfterSeconds)
  const minInFlight = options.minInFlight ?? 8
  let refused = 0
  let admitted = 0
  let inFlight = 0
  const finished = () => {
    inFlight--
  }
  let timer: NodeJS.Timeout | undefined
  let due = 0
  let lastRequestAt = 0

  let utilizationMark = performance.eventLoopUtilization()
  const tick = () => {
    const now = performance.now()
    const mark = performance.eventLoopUtilization()
    // A test's fake timers may replace `performance` without it: no reading, no saturation.
    const utilization = performance.eventLoopUtilization(mark, utilizationMark)?.utilization ?? 0
    utilizationMark = mark
    controller.observe(now - due, utilization, TICK_MS + Math.max(0, now - due))
    if (now - lastRequestAt > IDLE_AFTER_MS && controller.share === 0) {
      timer = undefined
      return
    }
    due = now + TICK_MS
    timer = setTimeout(tick, TICK_MS)
    timer.unref()
  }

  const middleware: RequestHandler = (req, res, next) => {
    lastRequestAt = performance.now()
    if (timer === undefined) {
      utilizationMark = performance.eventLoopUtilization()
      due = lastRequestAt + TICK_MS
      timer = setTimeout(tick, TICK_MS)
      timer.unref()
    }
    // A client that gave up while the request waited: nobody reads the answer.
    if (req.socket.destroyed) return
    if (
      controller.share > 0 &&
      inFlight >= minInFlight &&
      controller.refuses(options.priority(req), Math.random())
    ) {
      refused++
      res.setHeader('retry-after', retryAfter)
      sendProblem(res, 503, {
        title: 'Service Unavailable',
        detail: 'The service is over capacity; retry after the delay in Retry-After.',
        type: '/problems/overloaded',
      })
      return
    }
    admitted++
    inFlight++
    res.once('close', finished)
    next()
  }

  return {
    middleware,
    stats: () => ({
      refused,
      admitted,
      inFlight,
      share: controller.share,
      lagMs: controller.smoothedLagMs,
      sampling: timer !== undefined,
    }),
    close: () => {
      clearTimeout(timer)
      timer = undefined
    },
  }
}
