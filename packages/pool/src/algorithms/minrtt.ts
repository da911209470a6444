import { clampLimit, type LimitBounds, type LimitSample } from './limit-sample.js'

/** Tuning of {@link minrtt}. */
export interface MinRttParams extends LimitBounds {
  /**
   * How much slower than the no-load RTT work may run before the limit shrinks: the
   * limit settles where the RTT is `tolerance x` the no-load RTT (about `tolerance x`
   * the capacity on a backend that queues past it). @default 1.5
   */
  tolerance: number
  /** Share of the gradient applied per round, (0..1]. @default 0.5 */
  smoothing: number
  /**
   * Samples averaged into one update. Default: the limit's worth (at least 12), which under
   * load is about one round trip of completions, so each update sees the effect of the
   * last; such rounds also skip calls that started while more than the current limit were
   * in flight (they measure the queue of a larger, earlier limit, and would make a
   * decrease overshoot). The pool sizer uses 1: its samples are already means over an
   * interval, and its in-flight figure is the demand.
   */
  roundSamples: number | undefined
  /** Factor the limit is multiplied by on a drop, [0.5..1). @default 0.9 */
  backoffRatio: number
}

/** What {@link minrtt} carries from one sample to the next. */
export interface MinRttState {
  readonly limit: number
  /** The RTT without queueing, ms: from a probe at low concurrency, else the lowest round mean seen. 0 = unknown. */
  readonly noLoadRtt: number
  /** The no-load RTT came from a probe: round means no longer lower it (under noise they would, too far). */
  readonly probed: boolean
  /** RTT sum and count of the current round. */
  readonly roundSum: number
  readonly roundCount: number
  /** Highest in-flight count seen this round. */
  readonly roundInflight: number
}

/** Samples in a round when `roundSamples` follows the limit: fewer would be mostly noise. */
const MIN_ROUND = 12

export function minrttInit(limit: number): MinRttState {
  return { limit, noLoadRtt: 0, probed: false, roundSum: 0, roundCount: 0, roundInflight: 0 }
}

/**
 * A gradient against the no-load RTT, as Envoy's adaptive concurrency filter computes it:
 * once per round of samples, `gradient = clamp(tolerance x noLoadRtt / roundRtt, 0.5, 2)`
 * and `limit' = limit x (1 + smoothing x (gradient - 1))`. The no-load RTT is measured at
 * low concurrency (the limiter and the sizer pin the concurrency low for a moment and pass
 * the result to `observeNoLoadRtt`), not averaged from loaded samples, so queueing latency
 * is never learnt as normal: a limit above the capacity always sees a gradient below 1.
 * A drop multiplies the limit by `backoffRatio`. Pure: returns a new state.
 *
 * @example
 * let state = { ...minrttInit(40), noLoadRtt: 10, probed: true }
 * const params = minrttDefaults({ minLimit: 1, maxLimit: 100 })
 * for (let i = 0; i < 40; i++) state = minrtt(state, { rtt: 40, inflight: 40, dropped: false }, params)
 * state.limit // 30: four times the no-load RTT, so the limit shrinks (by a quarter, the most per round)
 */
export function minrtt(state: MinRttState, sample: LimitSample, params: MinRttParams): MinRttState {
  if (sample.dropped) {
    const limit = clampLimit(state.limit * params.backoffRatio, params)
    return { ...state, limit, roundSum: 0, roundCount: 0, roundInflight: 0 }
  }
  const rtt = sample.rtt
  if (!(rtt > 0)) return state
  if (params.roundSamples === undefined && sample.inflight > Math.ceil(state.limit)) return state
  const roundSum = state.roundSum + rtt
  const roundCount = state.roundCount + 1
  const roundInflight = Math.max(state.roundInflight, sample.inflight)
  const round = params.roundSamples ?? Math.max(MIN_ROUND, Math.floor(state.limit))
  if (roundCount < round) return { ...state, roundSum, roundCount, roundInflight }

  const roundRtt = roundSum / roundCount
  const next = { ...state, roundSum: 0, roundCount: 0, roundInflight: 0 }
  if (state.noLoadRtt === 0 || (!state.probed && roundRtt < state.noLoadRtt)) next.noLoadRtt = roundRtt
  const gradient = Math.max(0.5, Math.min(2, (params.tolerance * next.noLoadRtt) / roundRtt))
  // App-limited: a limit nobody reaches says nothing about capacity, so do not grow it.
  if (gradient > 1 && roundInflight < state.limit / 2) return next
  next.limit = clampLimit(state.limit * (1 + params.smoothing * (gradient - 1)), params)
  return next
}

/** {@link MinRttParams} with its defaults, bounded by `bounds`. */
export function minrttDefaults(bounds: LimitBounds, overrides: Partial<MinRttParams> = {}): MinRttParams {
  return {
    tolerance: 1.5,
    smoothing: 0.5,
    roundSamples: undefined,
    backoffRatio: 0.9,
    ...bounds,
    ...overrides,
  }
}
