import { isHeadroomError } from '@headroom/core'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { type Breaker, createBreaker } from '../src/index.js'

describe('createBreaker options', () => {
  const made: Breaker<any, any>[] = []
  afterEach(async () => {
    await Promise.all(made.splice(0).map((b) => b.close()))
  })

  it.each([
    [{ timeout: -1 }, /"timeout".*-1/],
    [{ timeout: true }, /"timeout"/],
    [{ errorThresholdPercentage: 150 }, /"errorThresholdPercentage".*150/],
    [{ volumeThreshold: 1.5 }, /"volumeThreshold".*1.5/],
    [{ resetTimeout: 0 }, /"resetTimeout".*0/],
    [{ slowCallMs: -3 }, /"slowCallMs".*-3/],
    [{ slowCallRate: -1 }, /"slowCallRate"/],
    [{ halfOpenProbes: 0 }, /"halfOpenProbes".*0/],
    [{ fallback: 'nope' }, /"fallback".*"nope"/],
    [{ capacity: 0 }, /"capacity"/],
    [{ rollingCountBuckets: 0 }, /"rollingCountBuckets"/],
    [{ shared: { name: 'x' } }, /"shared".*exactly one of "redis" or "hub"/],
    [{ shared: { name: 'a{b}', hub: {} } }, /"shared.name"/],
  ])('rejects %o with a TypeError naming the option', (options, message) => {
    expect(() => createBreaker(async () => 1, options as never)).toThrow(TypeError)
    expect(() => createBreaker(async () => 1, options as never)).toThrow(message)
  })

  it('rejects a missing function', () => {
    expect(() => createBreaker(undefined as never)).toThrow(/expected the function to protect/)
  })

  it('applies the documented defaults (a call times out after 10 s)', async () => {
    vi.useFakeTimers()
    try {
      const breaker = createBreaker(async function lookup() {
        await new Promise((resolve) => setTimeout(resolve, 60_000))
        return 1
      })
      made.push(breaker)
      expect(breaker.name).toBe('lookup')
      expect(breaker.state).toBe('closed')
      let outcome: unknown
      breaker.fire().then(
        () => (outcome = 'resolved'),
        (error: unknown) => (outcome = error),
      )
      await vi.advanceTimersByTimeAsync(9_999)
      expect(outcome).toBeUndefined()
      await vi.advanceTimersByTimeAsync(1)
      expect(isHeadroomError(outcome, 'E_TIMEOUT')).toBe(true)
      await vi.advanceTimersByTimeAsync(60_000)
    } finally {
      vi.useRealTimers()
    }
  })
})

describe('unknown option keys', () => {
  const made: Breaker<any, any>[] = []
  afterEach(async () => {
    await Promise.all(made.splice(0).map((b) => b.close()))
  })

  it('createBreaker and createBreakerRegistry refuse them at every level, suggesting the known key', async () => {
    const { createBreakerRegistry } = await import('../src/index.js')
    expect(() => createBreaker(async () => 1, { resetTimout: 1000 } as never)).toThrow(
      'Invalid createBreaker option "resetTimout": unknown option; did you mean "resetTimeout"?',
    )
    expect(() => createBreakerRegistry({ defaults: { volumThreshold: 5 } } as never)).toThrow(
      'Invalid createBreakerRegistry option "defaults.volumThreshold": unknown option; did you mean "volumeThreshold"?',
    )
  })

  it('toHealthCheck refuses a non-object and unknown keys, naming the shape', () => {
    const breaker = createBreaker(async () => 1)
    made.push(breaker)
    expect(() => breaker.toHealthCheck({ critcal: false } as never)).toThrow(
      'Invalid toHealthCheck option "critcal": unknown option; did you mean "critical"? (expected { critical?: boolean })',
    )
    expect(() => breaker.toHealthCheck('critical' as never)).toThrow(
      'Invalid toHealthCheck options: expected undefined or { critical?: boolean } (received "critical")',
    )
    expect(breaker.toHealthCheck({ critical: false })().critical).toBe(false)
  })
})
