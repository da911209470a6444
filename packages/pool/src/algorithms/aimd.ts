import { clampLimit, type LimitBounds, type LimitSample } from './limit-sample.js'

/** Tuning of {@link aimd}; the defaults are Netflix concurrency-limits' `AIMDLimit`. */
export interface AimdParams extends LimitBounds {
  /** Factor the limit is multiplied by on a drop (0.5..1). @default 0.9 */
  backoffRatio: number
  /** An RTT above this many milliseconds counts as a drop. @default 5000 */
  timeoutMs: number
}

/** What {@link aimd} carries from one sample to the next: only the limit. */
export interface AimdState {
  readonly limit: number
}

export function aimdInit(limit: number): AimdState {
  return { limit }
}

/**
 * Additive increase, multiplicative decrease: a drop (or an RTT over `timeoutMs`)
 * multiplies the limit by `backoffRatio`; otherwise, when at least half the limit is in
 * use, the limit grows by one. Limits stay integers, as in Netflix's `AIMDLimit`.
 *
 * @example
 * const next = aimd({ limit: 10 }, { rtt: 5, inflight: 10, dropped: true }, aimdDefaults({ minLimit: 1, maxLimit: 50 }))
 * next.limit // 9
 */
export function aimd(state: AimdState, sample: LimitSample, params: AimdParams): AimdState {
  let limit = Math.floor(state.limit)
  if (sample.dropped || sample.rtt > params.timeoutMs) {
    limit = Math.floor(limit * params.backoffRatio)
  } else if (sample.inflight * 2 >= limit) {
    limit += 1
  }
  limit = clampLimit(limit, params)
  return limit === state.limit ? state : { limit }
}

/** {@link AimdParams} with Netflix's defaults, bounded by `bounds`. */
export function aimdDefaults(bounds: LimitBounds, overrides: Partial<AimdParams> = {}): AimdParams {
  return { backoffRatio: 0.9, timeoutMs: 5000, ...bounds, ...overrides }
}
