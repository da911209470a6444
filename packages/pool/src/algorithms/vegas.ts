import { clampLimit, type LimitBounds, type LimitSample } from './limit-sample.js'

/** Tuning of {@link vegas}; the defaults are Netflix concurrency-limits' `VegasLimit`. */
export interface VegasParams extends LimitBounds {
  /** Weight of each new limit (0..1]. @default 1 */
  smoothing: number
  /** Re-measure the no-load RTT about every `probeMultiplier x limit` samples. @default 30 */
  probeMultiplier: number
  /** Queue size below which the limit grows by `log10(limit)`, given the limit. @default 3 x log10(limit) */
  alpha: (limit: number) => number
  /** Queue size above which the limit shrinks by `log10(limit)`, given the limit. @default 6 x log10(limit) */
  beta: (limit: number) => number
  /** Queue size under which the limit grows fast (by `beta`), given the limit. @default log10(limit) */
  threshold: (limit: number) => number
  /** The grown limit. @default limit + log10(limit) */
  increase: (limit: number) => number
  /** The shrunk limit. @default limit - log10(limit) */
  decrease: (limit: number) => number
}

/** What {@link vegas} carries from one sample to the next. */
export interface VegasState {
  readonly limit: number
  /** The smallest RTT seen since the last probe: the RTT without queueing. 0 = unknown. */
  readonly rttNoLoad: number
  /** Samples since the last probe. */
  readonly probeCount: number
  /** Random factor in [0.5, 1) that spreads probes so instances do not probe in step. */
  readonly probeJitter: number
  /** State of the small PRNG drawing the jitter, so the function stays pure and replayable. */
  readonly seed: number
}

/** Netflix's `Log10RootFunction`: `max(1, floor(log10(n)))`. */
export function log10Root(limit: number): number {
  return Math.max(1, Math.floor(Math.log10(Math.max(1, limit))))
}

/** mulberry32: one 32-bit step, returning [next seed, value in [0, 1)]. */
function nextRandom(seed: number): [number, number] {
  const next = (seed + 0x6d2b79f5) | 0
  let t = Math.imul(next ^ (next >>> 15), next | 1)
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
  return [next, ((t ^ (t >>> 14)) >>> 0) / 4294967296]
}

export function vegasInit(limit: number, seed = 0x9e3779b9): VegasState {
  const [nextSeed, value] = nextRandom(seed)
  return { limit, rttNoLoad: 0, probeCount: 0, probeJitter: 0.5 + value / 2, seed: nextSeed }
}

/**
 * TCP Vegas applied to concurrency: estimates the queue as
 * `queue = ceil(limit x (1 - rttNoLoad / rtt))` and grows the limit while the queue
 * is small (`< alpha`), shrinks it when it is large (`> beta`) or on a drop, and
 * holds between. `rttNoLoad` is the minimum RTT, re-probed every
 * `jitter x probeMultiplier x limit` samples so it follows a system whose base
 * latency changed. Pure: the probe jitter comes from a PRNG kept in the state.
 *
 * @example
 * let state = vegasInit(20)
 * state = vegas(state, { rtt: 4, inflight: 20, dropped: false }, vegasDefaults({ minLimit: 1, maxLimit: 100 }))
 */
export function vegas(state: VegasState, sample: LimitSample, params: VegasParams): VegasState {
  const rtt = sample.rtt
  if (!(rtt > 0)) return state
  const probeCount = state.probeCount + 1
  if (state.probeJitter * params.probeMultiplier * state.limit <= probeCount) {
    const [seed, value] = nextRandom(state.seed)
    return { limit: state.limit, rttNoLoad: rtt, probeCount: 0, probeJitter: 0.5 + value / 2, seed }
  }
  if (state.rttNoLoad === 0 || rtt < state.rttNoLoad) return { ...state, probeCount, rttNoLoad: rtt }

  const limit = state.limit
  const whole = Math.floor(limit)
  const queueSize = Math.ceil(limit * (1 - state.rttNoLoad / rtt))
  let next: number
  if (sample.dropped) {
    next = params.decrease(whole)
  } else if (sample.inflight * 2 < limit) {
    // App-limited: no evidence about capacity, so no upward drift.
    return { ...state, probeCount }
  } else if (queueSize <= params.threshold(whole)) {
    next = limit + params.beta(whole)
  } else if (queueSize < params.alpha(whole)) {
    next = params.increase(whole)
  } else if (queueSize > params.beta(whole)) {
    next = params.decrease(whole)
  } else {
    return { ...state, probeCount }
  }
  next = clampLimit(next, params)
  next = (1 - params.smoothing) * limit + params.smoothing * next
  return { ...state, probeCount, limit: next }
}

/** {@link VegasParams} with Netflix's defaults, bounded by `bounds`. */
export function vegasDefaults(bounds: LimitBounds, overrides: Partial<VegasParams> = {}): VegasParams {
  return {
    smoothing: 1,
    probeMultiplier: 30,
    alpha: (limit) => 3 * log10Root(limit),
    beta: (limit) => 6 * log10Root(limit),
    threshold: log10Root,
    increase: (limit) => limit + log10Root(limit),
    decrease: (limit) => limit - log10Root(limit),
    ...bounds,
    ...overrides,
  }
}
