import fc from 'fast-check'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { createRollingWindow } from '../src/breaker/rolling-window.js'
import { createBreaker } from '../src/index.js'
import { decodeMessage, encodeMessage, type HubMessage } from '../src/shared/messages.js'

describe('properties', () => {
  beforeEach(() => {
    vi.useFakeTimers()
  })
  afterEach(() => {
    vi.useRealTimers()
  })

  it('the rolling window always equals the sum of its last `buckets` slices', () => {
    const op = fc.oneof(
      fc.record({ kind: fc.constant('record' as const), failed: fc.boolean(), slow: fc.boolean() }),
      fc.record({ kind: fc.constant('rotate' as const) }),
    )
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 12 }), fc.array(op, { maxLength: 300 }), (buckets, ops) => {
        const window = createRollingWindow(buckets)
        const slices: { calls: number; failures: number; slow: number }[] = [
          { calls: 0, failures: 0, slow: 0 },
        ]
        for (const o of ops) {
          if (o.kind === 'rotate') {
            window.rotate()
            slices.push({ calls: 0, failures: 0, slow: 0 })
          } else {
            window.record(o.failed, o.slow)
            const slice = slices.at(-1)!
            slice.calls++
            if (o.failed) slice.failures++
            if (o.slow) slice.slow++
          }
          const live = slices.slice(-buckets)
          expect(window.calls).toBe(live.reduce((s, x) => s + x.calls, 0))
          expect(window.failures).toBe(live.reduce((s, x) => s + x.failures, 0))
          expect(window.slow).toBe(live.reduce((s, x) => s + x.slow, 0))
        }
      }),
    )
  })

  it('a closed breaker opens exactly when the failure rate passes the threshold after volumeThreshold calls', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 8 }),
        fc.integer({ min: 0, max: 99 }),
        fc.array(fc.boolean(), { minLength: 1, maxLength: 40 }),
        async (volumeThreshold, threshold, outcomes) => {
          let fail = false
          const breaker = createBreaker(
            async () => {
              if (fail) throw new Error('x')
              return 1
            },
            { volumeThreshold, errorThresholdPercentage: threshold },
          )
          try {
            let calls = 0
            let failures = 0
            for (const failed of outcomes) {
              fail = failed
              await breaker.fire().catch(() => {})
              calls++
              if (failed) failures++
              const shouldOpen = failed && calls >= volumeThreshold && (failures / calls) * 100 > threshold
              expect(breaker.state).toBe(shouldOpen ? 'open' : 'closed')
              if (shouldOpen) break
            }
          } finally {
            await breaker.close()
          }
        },
      ),
      { numRuns: 150 },
    )
  })

  it('half-open admits at most halfOpenProbes calls and decides as the model does', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 6 }),
        fc.integer({ min: 0, max: 99 }),
        fc.array(fc.boolean(), { minLength: 6, maxLength: 6 }),
        async (probes, threshold, outcomes) => {
          let calls = 0
          let next = 0
          const breaker = createBreaker(
            async () => {
              calls++
              if (outcomes[next++ % outcomes.length]) throw new Error('x')
              return 1
            },
            { halfOpenProbes: probes, errorThresholdPercentage: threshold, resetTimeout: 100 },
          )
          try {
            breaker.trip()
            await vi.advanceTimersByTimeAsync(100)
            let failures = 0
            let done = 0
            let expected: string = 'half-open'
            for (let i = 0; i < probes + 3 && expected === 'half-open'; i++) {
              await breaker.fire().catch(() => {})
              const failed = outcomes[done]!
              done++
              if (failed) failures++
              if ((failures / probes) * 100 > threshold) expected = 'open'
              else if (done >= probes) expected = 'closed'
              expect(breaker.state).toBe(expected)
            }
            expect(calls).toBeLessThanOrEqual(probes)
          } finally {
            await breaker.close()
          }
        },
      ),
      { numRuns: 150 },
    )
  })

  it('fleet messages survive a round trip, and garbage on the channel is ignored', () => {
    const message = fc.oneof(
      fc.record({ type: fc.constant('open' as const), ms: fc.integer({ min: 1, max: 2 ** 31 }) }),
      fc.record({ type: fc.constant('close' as const) }),
    )
    fc.assert(
      fc.property(fc.string({ minLength: 1 }), fc.string(), message, (name, origin, m: HubMessage) => {
        expect(decodeMessage(encodeMessage(name, origin, m))).toEqual({ name, origin, message: m })
      }),
    )
    fc.assert(
      fc.property(fc.string(), (raw) => {
        const decoded = decodeMessage(raw)
        expect(decoded === undefined || typeof decoded.name === 'string').toBe(true)
      }),
    )
    expect(decodeMessage('{"n":"a","t":"o","ms":-1,"o":"x"}')).toBeUndefined()
    expect(decodeMessage('null')).toBeUndefined()
  })
})
