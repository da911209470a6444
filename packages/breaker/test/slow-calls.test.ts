import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { type Breaker, createBreaker } from '../src/index.js'
import { dependency, settle } from './helpers.js'

describe('slow calls (fake clock)', () => {
  let breaker: Breaker<[number?], number> | undefined
  beforeEach(() => {
    vi.useFakeTimers()
  })
  afterEach(async () => {
    await breaker?.close()
    vi.useRealTimers()
  })

  it('opens when the slow-call rate reaches slowCallRate, though every call succeeded', async () => {
    const dep = dependency()
    breaker = createBreaker(dep.fn, { volumeThreshold: 4, slowCallMs: 100, slowCallRate: 50 })
    const slow: number[] = []
    breaker.on('slow', ({ latencyMs }) => slow.push(latencyMs))
    // Two fast calls, then slow ones: 1 of 3 slow (33 %), then 2 of 4 (50 %) opens.
    await breaker.fire()
    await breaker.fire()
    dep.delayMs = 150
    const third = breaker.fire()
    await vi.advanceTimersByTimeAsync(150)
    await third
    expect(breaker.state).toBe('closed')
    const fourth = breaker.fire()
    await vi.advanceTimersByTimeAsync(150)
    expect(await fourth).toBe(1)
    expect(breaker.state).toBe('open')
    expect(slow).toEqual([150, 150])
    const change = breaker.stats()
    expect(change.slowCalls).toBe(2)
    expect(change.failures).toBe(0)
  })

  it('counts a call exactly at slowCallMs as slow, and one just under as not', async () => {
    const dep = dependency()
    breaker = createBreaker(dep.fn, { volumeThreshold: 1, slowCallMs: 100, slowCallRate: 100 })
    dep.delayMs = 99
    const fast = breaker.fire()
    await vi.advanceTimersByTimeAsync(99)
    await fast
    expect(breaker.state).toBe('closed')
    breaker.reset()
    dep.delayMs = 100
    const slow = breaker.fire()
    await vi.advanceTimersByTimeAsync(100)
    await slow
    expect(breaker.state).toBe('open')
    expect(breaker.stats().slowCalls).toBe(1)
  })

  it('never counts slow calls with slowCallMs 0 (the default)', async () => {
    const dep = dependency()
    breaker = createBreaker(dep.fn, { volumeThreshold: 1 })
    dep.delayMs = 5_000
    const call = breaker.fire()
    await vi.advanceTimersByTimeAsync(5_000)
    await call
    expect(breaker.state).toBe('closed')
    expect(breaker.stats().slowCalls).toBe(0)
  })

  it('reopens from half-open when the probes are slow', async () => {
    const dep = dependency()
    breaker = createBreaker(dep.fn, {
      volumeThreshold: 1,
      resetTimeout: 1_000,
      slowCallMs: 100,
      slowCallRate: 50,
      halfOpenProbes: 2,
    })
    breaker.trip()
    await vi.advanceTimersByTimeAsync(1_000)
    expect(breaker.state).toBe('half-open')
    dep.delayMs = 200
    const probes = [settle(breaker.fire()), settle(breaker.fire())]
    await vi.advanceTimersByTimeAsync(200)
    const results = await Promise.all(probes)
    expect(results.every((r) => r.ok)).toBe(true)
    expect(breaker.state).toBe('open')
    const changes: string[] = []
    breaker.on('open', ({ reason }) => changes.push(reason))
    await vi.advanceTimersByTimeAsync(1_000)
    dep.delayMs = 10
    const next = [settle(breaker.fire()), settle(breaker.fire())]
    await vi.advanceTimersByTimeAsync(10)
    await Promise.all(next)
    expect(breaker.state).toBe('closed')
  })

  it('a timed-out call is a failure and, past slowCallMs, a slow call too', async () => {
    const dep = dependency()
    breaker = createBreaker(dep.fn, { volumeThreshold: 100, timeout: 300, slowCallMs: 100 })
    dep.delayMs = 1_000
    const call = settle(breaker.fire())
    await vi.advanceTimersByTimeAsync(300)
    await call
    const stats = breaker.stats()
    expect(stats).toMatchObject({ failures: 1, timeouts: 1, slowCalls: 1 })
    expect(stats.window).toMatchObject({ calls: 1, failures: 1, slowCalls: 1 })
    await vi.advanceTimersByTimeAsync(1_000)
  })
})
