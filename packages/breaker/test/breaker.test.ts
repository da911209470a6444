import { isHeadroomError } from '@headroom/core'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { type Breaker, createBreaker, isCircuitOpenError, type StateChange } from '../src/index.js'
import { dependency, settle } from './helpers.js'

describe('createBreaker (fake clock)', () => {
  const open: Breaker<any, any>[] = []
  const make: typeof createBreaker = (fn, options) => {
    const breaker = createBreaker(fn, options)
    open.push(breaker)
    return breaker
  }

  beforeEach(() => {
    vi.useFakeTimers()
  })
  afterEach(async () => {
    await Promise.all(open.splice(0).map((b) => b.close()))
    vi.useRealTimers()
  })

  it('passes values and the function own errors through while closed', async () => {
    const dep = dependency()
    const breaker = make(dep.fn, { volumeThreshold: 100 })
    expect(await breaker.fire(7)).toBe(7)
    dep.fail = true
    const error = await breaker.fire(1).catch((e: unknown) => e)
    expect((error as Error).message).toBe('dependency failed')
    expect(isHeadroomError(error)).toBe(false)
    expect(breaker.state).toBe('closed')
  })

  it('opens past the error threshold once volumeThreshold calls completed, then refuses with E_CIRCUIT_OPEN', async () => {
    const dep = dependency()
    const breaker = make(dep.fn, { volumeThreshold: 4, errorThresholdPercentage: 50, resetTimeout: 1_000 })
    dep.fail = true
    // Three failures: 100 % failure rate, but under the minimum number of calls.
    for (let i = 0; i < 3; i++) await settle(breaker.fire())
    expect(breaker.state).toBe('closed')
    await settle(breaker.fire())
    expect(breaker.state).toBe('open')

    const before = dep.calls
    const error = await breaker.fire().catch((e: unknown) => e)
    expect(isCircuitOpenError(error)).toBe(true)
    expect((error as { code: string }).code).toBe('E_CIRCUIT_OPEN')
    expect(dep.calls).toBe(before)
    expect(breaker.stats().rejects).toBe(1)
  })

  it('does not open at exactly the threshold (opossum: strictly above)', async () => {
    const dep = dependency()
    const breaker = make(dep.fn, { volumeThreshold: 4, errorThresholdPercentage: 50 })
    for (const fail of [true, false, true, false]) {
      dep.fail = fail
      await settle(breaker.fire())
    }
    expect(breaker.state).toBe('closed')
    dep.fail = true
    await settle(breaker.fire())
    expect(breaker.state).toBe('open')
  })

  it('half-opens after resetTimeout; a passing probe closes it, a failing one reopens it', async () => {
    const dep = dependency()
    const breaker = make(dep.fn, { volumeThreshold: 1, resetTimeout: 1_000 })
    const states: string[] = []
    breaker.on('state', ({ state }) => states.push(state))
    dep.fail = true
    await settle(breaker.fire())
    expect(breaker.state).toBe('open')

    await vi.advanceTimersByTimeAsync(999)
    expect(breaker.state).toBe('open')
    await vi.advanceTimersByTimeAsync(1)
    expect(breaker.state).toBe('half-open')

    // The probe fails: open again for a full resetTimeout.
    await settle(breaker.fire())
    expect(breaker.state).toBe('open')
    await vi.advanceTimersByTimeAsync(1_000)
    expect(breaker.state).toBe('half-open')

    dep.fail = false
    expect(await breaker.fire(3)).toBe(3)
    expect(breaker.state).toBe('closed')
    expect(states).toEqual(['open', 'half-open', 'open', 'half-open', 'closed'])
    expect(breaker.stats().opens).toBe(2)
  })

  it('lets one probe through while half-open by default and refuses the rest', async () => {
    const dep = dependency()
    const breaker = make(dep.fn, { volumeThreshold: 1, resetTimeout: 100 })
    dep.fail = true
    await settle(breaker.fire())
    await vi.advanceTimersByTimeAsync(100)
    dep.fail = false
    dep.delayMs = 50
    const before = dep.calls
    const probe = settle(breaker.fire())
    const others = await Promise.all([settle(breaker.fire()), settle(breaker.fire())])
    expect(others.every((r) => !r.ok && isCircuitOpenError(r.error))).toBe(true)
    await vi.advanceTimersByTimeAsync(50)
    expect((await probe).ok).toBe(true)
    expect(dep.calls - before).toBe(1)
    expect(breaker.state).toBe('closed')
  })

  it('fails a call past timeout with E_TIMEOUT and aborts the AbortController', async () => {
    const dep = dependency()
    const abortController = new AbortController()
    const breaker = make(dep.fn, { timeout: 200, volumeThreshold: 100, abortController })
    dep.delayMs = 1_000
    const result = settle(breaker.fire())
    await vi.advanceTimersByTimeAsync(200)
    const outcome = await result
    expect(outcome.ok).toBe(false)
    const error = (outcome as { error: unknown }).error
    expect(isHeadroomError(error, 'E_TIMEOUT')).toBe(true)
    expect(abortController.signal.aborted).toBe(true)
    expect(breaker.signal).toBe(abortController.signal)
    expect(breaker.stats().timeouts).toBe(1)
    await vi.advanceTimersByTimeAsync(1_000)
  })

  it('renews an aborted AbortController on half-open with autoRenewAbortController', async () => {
    const dep = dependency()
    const breaker = make(dep.fn, {
      timeout: 100,
      volumeThreshold: 1,
      resetTimeout: 500,
      autoRenewAbortController: true,
    })
    const first = breaker.signal
    expect(first).toBeDefined()
    dep.delayMs = 1_000
    const call = settle(breaker.fire())
    await vi.advanceTimersByTimeAsync(100)
    await call
    expect(first?.aborted).toBe(true)
    expect(breaker.state).toBe('open')
    await vi.advanceTimersByTimeAsync(500)
    expect(breaker.state).toBe('half-open')
    expect(breaker.signal).not.toBe(first)
    expect(breaker.signal?.aborted).toBe(false)
    await vi.advanceTimersByTimeAsync(1_000)
  })

  it('calls the fallback with the arguments and a typed error, when failing and when open', async () => {
    const dep = dependency()
    const seen: unknown[] = []
    const breaker = make(dep.fn, {
      volumeThreshold: 1,
      fallback: (value: number | undefined, error: Error) => {
        seen.push(error)
        return -(value ?? 0)
      },
    })
    dep.fail = true
    expect(await breaker.fire(5)).toBe(-5)
    expect(breaker.state).toBe('open')
    expect(await breaker.fire(6)).toBe(-6)
    expect((seen[0] as Error).message).toBe('dependency failed')
    expect(isCircuitOpenError(seen[1])).toBe(true)
    expect(breaker.stats().fallbacks).toBe(2)
  })

  it('rejects with the fallback error when the fallback throws', async () => {
    const breaker = make(async () => 1, {
      fallback: () => {
        throw new Error('fallback broke')
      },
    })
    breaker.trip()
    await expect(breaker.fire()).rejects.toThrow('fallback broke')
  })

  it('does not count errors the errorFilter accepts', async () => {
    const dep = dependency()
    const breaker = make(dep.fn, {
      volumeThreshold: 1,
      errorFilter: (error) => (error as Error).message === 'dependency failed',
    })
    dep.fail = true
    for (let i = 0; i < 5; i++) await expect(breaker.fire()).rejects.toThrow('dependency failed')
    expect(breaker.state).toBe('closed')
  })

  it('refuses calls over capacity with E_OVERLOADED without counting them as failures', async () => {
    const dep = dependency()
    const breaker = make(dep.fn, { capacity: 1, volumeThreshold: 1 })
    dep.delayMs = 100
    const first = settle(breaker.fire())
    const second = await settle(breaker.fire())
    expect(second.ok).toBe(false)
    expect(isHeadroomError((second as { error: unknown }).error, 'E_OVERLOADED')).toBe(true)
    expect(breaker.stats().inFlight).toBe(1)
    await vi.advanceTimersByTimeAsync(100)
    expect((await first).ok).toBe(true)
    expect(breaker.state).toBe('closed')
    expect(breaker.stats().failures).toBe(0)
  })

  it('forgets failures that slid out of the rolling window', async () => {
    const dep = dependency()
    const breaker = make(dep.fn, {
      volumeThreshold: 4,
      rollingCountTimeout: 1_000,
      rollingCountBuckets: 10,
    })
    dep.fail = true
    for (let i = 0; i < 3; i++) await settle(breaker.fire())
    expect(breaker.stats().window.failures).toBe(3)
    await vi.advanceTimersByTimeAsync(1_000)
    expect(breaker.stats().window.calls).toBe(0)
    await settle(breaker.fire())
    expect(breaker.state).toBe('closed')
  })

  it('trip() and reset() change the state by hand and say so in events', async () => {
    const breaker = make(async () => 1, { resetTimeout: 1_000 })
    const changes: StateChange[] = []
    breaker.on('state', (change) => changes.push(change))
    breaker.trip(50)
    expect(breaker.isAvailable()).toBe(false)
    await vi.advanceTimersByTimeAsync(50)
    expect(breaker.state).toBe('half-open')
    expect(breaker.isAvailable()).toBe(true)
    breaker.reset()
    expect(breaker.state).toBe('closed')
    expect(changes.map((c) => [c.state, c.reason])).toEqual([
      ['open', 'manual'],
      ['half-open', 'reset-timeout'],
      ['closed', 'manual'],
    ])
    expect(changes[0]!.openMs).toBe(50)
    expect(() => breaker.trip(-1)).toThrow(/positive duration/)
  })

  it('reports latency percentiles and window rates in stats()', async () => {
    const dep = dependency()
    const breaker = make(dep.fn, { volumeThreshold: 100 })
    dep.delayMs = 40
    const calls = [settle(breaker.fire()), settle(breaker.fire())]
    await vi.advanceTimersByTimeAsync(40)
    await Promise.all(calls)
    dep.delayMs = 0
    dep.fail = true
    await settle(breaker.fire())
    const stats = breaker.stats()
    expect(stats).toMatchObject({ name: 'fn', state: 'closed', calls: 3, successes: 2, failures: 1 })
    expect(stats.window.failureRate).toBeCloseTo(100 / 3)
    expect(stats.latency.count).toBe(3)
    expect(stats.latency.max).toBe(40)
    expect(stats.shared).toBeUndefined()
  })

  it('close() clears every timer and refuses further calls with E_CLOSED', async () => {
    const breaker = createBreaker(async () => 1, { resetTimeout: 60_000 })
    breaker.trip()
    expect(vi.getTimerCount()).toBeGreaterThan(0)
    await breaker.close()
    expect(vi.getTimerCount()).toBe(0)
    const error = await breaker.fire().catch((e: unknown) => e)
    expect(isHeadroomError(error, 'E_CLOSED')).toBe(true)
    await breaker.close()
  })

  it('a listener that throws does not break the breaker', async () => {
    const breaker = make(async () => 1)
    breaker.on('state', () => {
      throw new Error('listener bug')
    })
    breaker.trip()
    expect(breaker.state).toBe('open')
  })
})
