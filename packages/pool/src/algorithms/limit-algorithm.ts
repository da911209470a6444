import { type AimdParams, aimd, aimdDefaults, aimdInit } from './aimd.js'
import { type Gradient2Params, gradient2, gradient2Defaults, gradient2Init } from './gradient2.js'
import type { LimitBounds, LimitSample } from './limit-sample.js'
import { type MinRttParams, minrtt, minrttDefaults, minrttInit } from './minrtt.js'
import { type VegasParams, vegas, vegasDefaults, vegasInit } from './vegas.js'

/** The algorithms by name. */
export type LimitAlgorithmName = 'minrtt' | 'gradient2' | 'vegas' | 'aimd'

/** An algorithm by name, or by name with overrides of its tuning. */
export type LimitAlgorithmSpec =
  | LimitAlgorithmName
  | ({ name: 'minrtt' } & Partial<Omit<MinRttParams, keyof LimitBounds>>)
  | ({ name: 'gradient2' } & Partial<Omit<Gradient2Params, keyof LimitBounds>>)
  | ({ name: 'vegas' } & Partial<Omit<VegasParams, keyof LimitBounds>>)
  | ({ name: 'aimd' } & Partial<Omit<AimdParams, keyof LimitBounds>>)

/** A limit algorithm with its state: the pure functions behind a small stateful face. */
export interface LimitAlgorithm {
  readonly name: LimitAlgorithmName
  /** The current estimate (fractional for Gradient2 and Vegas). */
  readonly limit: number
  /** Feeds one sample and returns the new estimate. */
  update(sample: LimitSample): number
  /** Forces the estimate (clamped to the bounds), e.g. when a pool was resized by hand. */
  reset(limit: number): void
  /**
   * Tells the algorithm the RTT measured with (almost) no concurrency, as Envoy's
   * adaptive concurrency filter does when it pins the limit low: MinRTT and Vegas take it
   * as their no-load RTT, Gradient2 as its long-term RTT; AIMD ignores it.
   */
  observeNoLoadRtt(rtt: number): void
}

/**
 * Builds the stateful form of an algorithm from its spec. `defaults` lets a caller
 * (the pool sizer) tune an algorithm for its sampling rate while a spec still wins.
 *
 * @example
 * const algorithm = createLimitAlgorithm('vegas', 10, { minLimit: 1, maxLimit: 100 })
 * algorithm.update({ rtt: 3, inflight: 10, dropped: false })
 */
export function createLimitAlgorithm(
  spec: LimitAlgorithmSpec,
  initial: number,
  bounds: LimitBounds,
  defaults: {
    minrtt?: Partial<MinRttParams>
    gradient2?: Partial<Gradient2Params>
    vegas?: Partial<VegasParams>
    aimd?: Partial<AimdParams>
  } = {},
): LimitAlgorithm {
  const { name, ...overrides } = typeof spec === 'string' ? { name: spec } : spec
  const start = Math.max(bounds.minLimit, Math.min(bounds.maxLimit, initial))
  switch (name) {
    case 'minrtt': {
      const params = minrttDefaults(bounds, { ...defaults.minrtt, ...overrides })
      let state = minrttInit(start)
      return {
        name,
        get limit() {
          return state.limit
        },
        update(sample) {
          state = minrtt(state, sample, params)
          return state.limit
        },
        reset(limit) {
          state = { ...state, limit: Math.max(bounds.minLimit, Math.min(bounds.maxLimit, limit)) }
        },
        observeNoLoadRtt(rtt) {
          if (rtt > 0) state = { ...state, noLoadRtt: rtt, probed: true }
        },
      }
    }
    case 'gradient2': {
      const params = gradient2Defaults(bounds, { ...defaults.gradient2, ...overrides })
      let state = gradient2Init(start)
      return {
        name,
        get limit() {
          return state.limit
        },
        update(sample) {
          state = gradient2(state, sample, params)
          return state.limit
        },
        reset(limit) {
          state = { ...state, limit: Math.max(bounds.minLimit, Math.min(bounds.maxLimit, limit)) }
        },
        observeNoLoadRtt(rtt) {
          // A full warm-up: from here the long RTT is an exponential average starting at `rtt`.
          if (rtt > 0) state = { ...state, longRtt: rtt, warmup: 10, warmupSum: rtt * 10 }
        },
      }
    }
    case 'vegas': {
      const params = vegasDefaults(bounds, { ...defaults.vegas, ...overrides })
      let state = vegasInit(start, (Math.random() * 2 ** 32) | 0)
      return {
        name,
        get limit() {
          return state.limit
        },
        update(sample) {
          state = vegas(state, sample, params)
          return state.limit
        },
        reset(limit) {
          state = { ...state, limit: Math.max(bounds.minLimit, Math.min(bounds.maxLimit, limit)) }
        },
        observeNoLoadRtt(rtt) {
          if (rtt > 0) state = { ...state, rttNoLoad: rtt, probeCount: 0 }
        },
      }
    }
    case 'aimd': {
      const params = aimdDefaults(bounds, { ...defaults.aimd, ...overrides })
      let state = aimdInit(Math.floor(start))
      return {
        name,
        get limit() {
          return state.limit
        },
        update(sample) {
          state = aimd(state, sample, params)
          return state.limit
        },
        reset(limit) {
          state = { limit: Math.floor(Math.max(bounds.minLimit, Math.min(bounds.maxLimit, limit))) }
        },
        observeNoLoadRtt() {},
      }
    }
  }
}
