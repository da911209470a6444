import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  aimd,
  aimdDefaults,
  createLimitAlgorithm,
  type Gradient2State,
  gradient2,
  gradient2Defaults,
  gradient2Init,
  type LimitAlgorithmName,
  log10Root,
  minrtt,
  minrttDefaults,
  minrttInit,
  vegas,
  vegasDefaults,
  vegasInit,
} from '../src/index.js'

const bounds = { minLimit: 1, maxLimit: 200 }

describe('aimd', () => {
  const params = aimdDefaults(bounds)
  it('adds one when at least half the limit is in use', () => {
    expect(aimd({ limit: 10 }, { rtt: 5, inflight: 5, dropped: false }, params).limit).toBe(11)
  })
  it('holds when app-limited', () => {
    expect(aimd({ limit: 10 }, { rtt: 5, inflight: 4, dropped: false }, params).limit).toBe(10)
  })
  it('multiplies by the backoff ratio on a drop or a timeout-long RTT', () => {
    expect(aimd({ limit: 20 }, { rtt: 5, inflight: 20, dropped: true }, params).limit).toBe(18)
    expect(aimd({ limit: 20 }, { rtt: 6000, inflight: 20, dropped: false }, params).limit).toBe(18)
  })
  it('stays within bounds', () => {
    expect(aimd({ limit: 1 }, { rtt: 5, inflight: 1, dropped: true }, params).limit).toBe(1)
    expect(aimd({ limit: 200 }, { rtt: 5, inflight: 200, dropped: false }, params).limit).toBe(200)
  })
})

describe('gradient2', () => {
  const params = gradient2Defaults(bounds)
  it('averages the first ten RTTs plainly, then exponentially over longWindow', () => {
    let state = gradient2Init(20)
    for (const rtt of [10, 20, 30]) state = gradient2(state, { rtt, inflight: 20, dropped: false }, params)
    expect(state.longRtt).toBe(20)
    state = { ...state, warmup: 10, warmupSum: 200, longRtt: 20 }
    const next = gradient2(state, { rtt: 40, inflight: 20, dropped: false }, params)
    const factor = 2 / 601
    expect(next.longRtt).toBeCloseTo(20 * (1 - factor) + 40 * factor, 10)
  })
  it('applies limit x (1 - s) + (limit x gradient + queue) x s', () => {
    const state: Gradient2State = { limit: 20, longRtt: 10, warmup: 10, warmupSum: 100 }
    // short 30 ms against long ~10: gradient = max(0.5, 1.5 x long / 30) with long after the update.
    const next = gradient2(state, { rtt: 30, inflight: 20, dropped: false }, params)
    const factor = 2 / 601
    const long = 10 * (1 - factor) + 30 * factor
    const gradient = Math.max(0.5, Math.min(1, (1.5 * long) / 30))
    expect(next.limit).toBeCloseTo(20 * 0.8 + (20 * gradient + 4) * 0.2, 10)
  })
  it('grows by queueSize x smoothing when latency is flat', () => {
    const state: Gradient2State = { limit: 20, longRtt: 10, warmup: 10, warmupSum: 100 }
    expect(gradient2(state, { rtt: 10, inflight: 20, dropped: false }, params).limit).toBeCloseTo(20.8, 10)
  })
  it('does not grow when app-limited', () => {
    const state: Gradient2State = { limit: 20, longRtt: 10, warmup: 10, warmupSum: 100 }
    expect(gradient2(state, { rtt: 10, inflight: 9, dropped: false }, params).limit).toBe(20)
  })
  it('decays a long RTT more than twice the short one', () => {
    const state: Gradient2State = { limit: 20, longRtt: 100, warmup: 10, warmupSum: 1000 }
    const next = gradient2(state, { rtt: 10, inflight: 20, dropped: false }, params)
    const factor = 2 / 601
    expect(next.longRtt).toBeCloseTo((100 * (1 - factor) + 10 * factor) * 0.95, 10)
  })
})

describe('vegas', () => {
  const params = vegasDefaults(bounds)
  const at = (limit: number, rttNoLoad: number) => ({ ...vegasInit(limit, 1), rttNoLoad, probeJitter: 0.99 })
  it('uses log10 steps: alpha 3, beta 6, threshold 1 below 100', () => {
    expect(log10Root(50)).toBe(1)
    expect(log10Root(150)).toBe(2)
  })
  it('grows by beta when there is no queue', () => {
    expect(vegas(at(20, 10), { rtt: 10, inflight: 20, dropped: false }, params).limit).toBe(26)
  })
  it('grows by log10 when the queue is under alpha', () => {
    // queue = ceil(20 x (1 - 10/11)) = 2: between threshold (1) and alpha (3).
    expect(vegas(at(20, 10), { rtt: 11, inflight: 20, dropped: false }, params).limit).toBe(21)
  })
  it('holds between alpha and beta, shrinks above beta', () => {
    // queue = ceil(20 x (1 - 10/14)) = 6: hold. queue = ceil(20 x (1 - 10/20)) = 10: shrink.
    expect(vegas(at(20, 10), { rtt: 14, inflight: 20, dropped: false }, params).limit).toBe(20)
    expect(vegas(at(20, 10), { rtt: 20, inflight: 20, dropped: false }, params).limit).toBe(19)
  })
  it('shrinks on a drop, and records a new minimum RTT without moving', () => {
    expect(vegas(at(20, 10), { rtt: 10, inflight: 20, dropped: true }, params).limit).toBe(19)
    const next = vegas(at(20, 10), { rtt: 5, inflight: 20, dropped: false }, params)
    expect(next).toMatchObject({ limit: 20, rttNoLoad: 5 })
  })
  it('re-probes the no-load RTT after about jitter x 30 x limit samples', () => {
    let state = { ...at(2, 10), probeJitter: 0.5 }
    for (let i = 0; i < 29; i++) state = vegas(state, { rtt: 50, inflight: 0, dropped: false }, params)
    expect(state.rttNoLoad).toBe(10)
    state = vegas(state, { rtt: 50, inflight: 0, dropped: false }, params)
    expect(state.rttNoLoad).toBe(50)
    expect(state.probeCount).toBe(0)
  })
})

/** A synthetic system with a knee at `knee` concurrent requests: latency is flat below it, linear above. */
function syntheticRtt(limit: number, knee: number, base = 10): number {
  return base * Math.max(1, limit / knee)
}

describe.each<LimitAlgorithmName>(['vegas', 'gradient2'])('%s on a synthetic latency curve', (name) => {
  it('comes down from a limit far above the knee once it knows the no-load RTT', () => {
    const algorithm = createLimitAlgorithm(name, 150, bounds)
    algorithm.observeNoLoadRtt(10)
    // 300 samples: well inside Gradient2's 600-sample long window, which otherwise drifts
    // up to the short RTT (why the pool sizer re-probes the no-load RTT every 30 s).
    for (let i = 0; i < 300; i++) {
      const limit = Math.floor(algorithm.limit)
      algorithm.update({ rtt: syntheticRtt(limit, 20), inflight: limit, dropped: false })
    }
    expect(algorithm.limit).toBeGreaterThan(15)
    // Vegas settles where the estimated queue is between alpha and beta; Gradient2 where
    // short/long RTT = 1.5 / (1 - 4 / limit), which sits higher above the knee.
    expect(algorithm.limit).toBeLessThan(name === 'vegas' ? 40 : 80)
  })
  it('grows from the minimum toward the knee when latency stays flat', () => {
    const algorithm = createLimitAlgorithm(name, 1, bounds)
    for (let i = 0; i < 3000; i++) {
      const limit = Math.floor(algorithm.limit)
      algorithm.update({ rtt: syntheticRtt(limit, 20), inflight: limit, dropped: false })
    }
    expect(algorithm.limit).toBeGreaterThan(15)
  })
})

describe('minrtt', () => {
  const params = minrttDefaults(bounds)
  const probed = (limit: number, noLoadRtt: number) => ({ ...minrttInit(limit), noLoadRtt, probed: true })
  const feed = (state: ReturnType<typeof minrttInit>, n: number, rtt: number, inflight = state.limit) => {
    let next = state
    for (let i = 0; i < n; i++) next = minrtt(next, { rtt, inflight, dropped: false }, params)
    return next
  }
  it('updates once per round of max(12, limit) samples: limit x (1 + smoothing x (gradient - 1))', () => {
    // gradient = 1.5 x 10 / 20 = 0.75: limit x (1 + 0.5 x -0.25)
    expect(feed(probed(40, 10), 39, 20).limit).toBe(40)
    expect(feed(probed(40, 10), 40, 20).limit).toBeCloseTo(35)
    // A gradient over 2 is clamped: at most x1.5 per round.
    expect(feed(probed(4, 10), 12, 1).limit).toBeCloseTo(6)
    // Under 0.5 likewise: at most x0.75 per round.
    expect(feed(probed(40, 10), 40, 1000).limit).toBeCloseTo(30)
  })
  it('never learns queueing latency once probed, and settles where RTT = tolerance x no-load RTT', () => {
    // A backend with a knee at 10: RTT = 10 ms up to 10 in flight, then grows with the queue.
    let state = probed(100, 10)
    for (let i = 0; i < 5000; i++) {
      const limit = Math.floor(state.limit)
      state = minrtt(state, { rtt: 10 * Math.max(1, limit / 10), inflight: limit, dropped: false }, params)
    }
    expect(state.noLoadRtt).toBe(10)
    expect(state.limit).toBeGreaterThanOrEqual(14)
    expect(state.limit).toBeLessThanOrEqual(16)
  })
  it('does not grow when app-limited, skips calls started above the current limit, backs off on a drop', () => {
    expect(feed(probed(40, 10), 40, 10, 10).limit).toBe(40)
    expect(feed(probed(20, 10), 100, 1000, 30).limit).toBe(20)
    expect(minrtt(probed(20, 10), { rtt: 1, inflight: 20, dropped: true }, params).limit).toBeCloseTo(18)
  })
  it('without a probe, takes the lowest round mean as the no-load RTT', () => {
    const state = feed(feed(minrttInit(12), 12, 30), 15, 20)
    expect(state).toMatchObject({ noLoadRtt: 20, probed: false })
  })
})

describe('invariants (property)', () => {
  const sample = fc.record({
    rtt: fc.double({ min: 0.01, max: 10_000, noNaN: true }),
    inflight: fc.integer({ min: 0, max: 500 }),
    dropped: fc.boolean(),
  })
  it.each<LimitAlgorithmName>(['minrtt', 'gradient2', 'vegas', 'aimd'])(
    '%s keeps the limit within bounds for any samples',
    (name) => {
      fc.assert(
        fc.property(
          fc.integer({ min: 1, max: 50 }),
          fc.integer({ min: 0, max: 100 }),
          fc.array(sample, { maxLength: 300 }),
          (minLimit, span, samples) => {
            const limits = { minLimit, maxLimit: minLimit + span }
            const algorithm = createLimitAlgorithm(name, minLimit + span / 2, limits)
            for (const s of samples) {
              const limit = algorithm.update(s)
              if (!(limit >= limits.minLimit && limit <= limits.maxLimit)) return false
            }
            return true
          },
        ),
      )
    },
  )
  it('the pure functions never mutate their input state', () => {
    fc.assert(
      fc.property(sample, (s) => {
        const g = Object.freeze(gradient2Init(10))
        const v = Object.freeze(vegasInit(10, 7))
        const a = Object.freeze({ limit: 10 })
        const m = Object.freeze({ ...minrttInit(10), noLoadRtt: 5, roundCount: 11, roundSum: 55 })
        minrtt(m, s, minrttDefaults(bounds))
        gradient2(g, s, gradient2Defaults(bounds))
        vegas(v, s, vegasDefaults(bounds))
        aimd(a, s, aimdDefaults(bounds))
        return true
      }),
    )
  })
  it('aimd never grows on a drop', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 200 }), sample, (limit, s) => {
        const next = aimd({ limit }, { ...s, dropped: true }, aimdDefaults(bounds))
        return next.limit <= limit
      }),
    )
  })
})
