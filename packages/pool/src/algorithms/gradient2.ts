import { clampLimit, type LimitBounds, type LimitSample } from './limit-sample.js'

/** Tuning of {@link gradient2}; the defaults are Netflix concurrency-limits' `Gradient2Limit`. */
export interface Gradient2Params extends LimitBounds {
  /** Weight of each new limit estimate (0..1]. @default 0.2 */
  smoothing: number
  /** How much slower than the long-term RTT the short-term RTT may be before the limit shrinks. @default 1.5 */
  rttTolerance: number
  /** Samples in the exponential average of the long-term RTT. @default 600 */
  longWindow: number
  /** Headroom added each update so the limit keeps probing upward, given the current limit. @default 4 */
  queueSize: number | ((limit: number) => number)
}

/** What {@link gradient2} carries from one sample to the next. */
export interface Gradient2State {
  /** The estimated limit (fractional; callers use `Math.floor`). */
  readonly limit: number
  /** The long-term RTT (an exponential average after a warm-up of 10 plain averages). */
  readonly longRtt: number
  /** Samples seen, capped at the warm-up length. */
  readonly warmup: number
  /** Sum of the warm-up samples. */
  readonly warmupSum: number
}

/** Samples averaged plainly before the long RTT becomes an exponential average. */
const WARMUP_SAMPLES = 10

export function gradient2Init(limit: number): Gradient2State {
  return { limit, longRtt: 0, warmup: 0, warmupSum: 0 }
}

/**
 * Netflix's Gradient2: compares a short-term RTT (this sample) with a long-term
 * exponential average and scales the limit by `gradient = clamp(tolerance x long / short, 0.5, 1)`,
 * then adds `queueSize` so the limit keeps probing:
 * `limit' = limit x (1 - smoothing) + (limit x gradient + queueSize) x smoothing`.
 * A pure function: it returns a new state and never mutates `state`.
 *
 * @example
 * let state = gradient2Init(20)
 * state = gradient2(state, { rtt: 12, inflight: 20, dropped: false }, gradient2Defaults({ minLimit: 1, maxLimit: 100 }))
 */
export function gradient2(
  state: Gradient2State,
  sample: LimitSample,
  params: Gradient2Params,
): Gradient2State {
  const rtt = sample.rtt
  if (!(rtt > 0)) return state
  let { longRtt, warmup, warmupSum } = state
  if (warmup < WARMUP_SAMPLES) {
    warmup++
    warmupSum += rtt
    longRtt = warmupSum / warmup
  } else {
    const factor = 2 / (params.longWindow + 1)
    longRtt = longRtt * (1 - factor) + rtt * factor
  }
  // After a long overload the long RTT lags far above the short one; decay it so the
  // limit can recover without waiting for the exponential average.
  if (longRtt / rtt > 2) longRtt *= 0.95

  const next = { limit: state.limit, longRtt, warmup, warmupSum }
  // App-limited: a limit nobody reaches says nothing about capacity, so do not grow it.
  if (sample.inflight < state.limit / 2) return next

  const queueSize = typeof params.queueSize === 'function' ? params.queueSize(state.limit) : params.queueSize
  const gradient = Math.max(0.5, Math.min(1, (params.rttTolerance * longRtt) / rtt))
  let limit = state.limit * gradient + queueSize
  limit = state.limit * (1 - params.smoothing) + limit * params.smoothing
  next.limit = clampLimit(limit, params)
  return next
}

/** {@link Gradient2Params} with Netflix's defaults, bounded by `bounds`. */
export function gradient2Defaults(
  bounds: LimitBounds,
  overrides: Partial<Gradient2Params> = {},
): Gradient2Params {
  return { smoothing: 0.2, rttTolerance: 1.5, longWindow: 600, queueSize: 4, ...bounds, ...overrides }
}
