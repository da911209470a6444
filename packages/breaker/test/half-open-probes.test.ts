import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { type Breaker, createBreaker, isCircuitOpenError } from '../src/index.js'
import { type Dependency, dependency, settle } from './helpers.js'

describe('several half-open probes (fake clock)', () => {
  let breaker: Breaker<[number?], number> | undefined
  let dep: Dependency
  beforeEach(() => {
    vi.useFakeTimers()
    dep = dependency()
  })
  afterEach(async () => {
    await breaker?.close()
    vi.useRealTimers()
  })

  const halfOpen = async (probes: number, errorThresholdPercentage = 50) => {
    breaker = createBreaker(dep.fn, {
      volumeThreshold: 1,
      resetTimeout: 1_000,
      halfOpenProbes: probes,
      errorThresholdPercentage,
    })
    breaker.trip()
    await vi.advanceTimersByTimeAsync(1_000)
    expect(breaker.state).toBe('half-open')
    return breaker
  }

  it('admits exactly halfOpenProbes calls and refuses the rest with E_CIRCUIT_OPEN', async () => {
    const b = await halfOpen(3)
    dep.delayMs = 100
    const before = dep.calls
    const calls = Array.from({ length: 5 }, () => settle(b.fire()))
    const refused = await Promise.all(calls.slice(3))
    expect(refused.every((r) => !r.ok && isCircuitOpenError(r.error))).toBe(true)
    expect(dep.calls - before).toBe(3)
    // Two of three finished: still half-open, waiting for the third.
    await vi.advanceTimersByTimeAsync(100)
    const admitted = await Promise.all(calls.slice(0, 3))
    expect(admitted.every((r) => r.ok)).toBe(true)
    expect(b.state).toBe('closed')
  })

  it('stays half-open until every probe is back', async () => {
    const b = await halfOpen(3)
    await b.fire()
    await b.fire()
    expect(b.state).toBe('half-open')
    await b.fire()
    expect(b.state).toBe('closed')
  })

  it('reopens as soon as the failures alone pass the threshold, without waiting for the rest', async () => {
    const b = await halfOpen(4, 25)
    dep.fail = true
    await settle(b.fire())
    // 1 of 4 = 25 %: not above 25 % yet.
    expect(b.state).toBe('half-open')
    await settle(b.fire())
    expect(b.state).toBe('open')
  })

  it('closes when the probes failure rate stays under the threshold', async () => {
    const b = await halfOpen(4, 50)
    dep.fail = true
    await settle(b.fire())
    await settle(b.fire())
    dep.fail = false
    await b.fire()
    expect(b.state).toBe('half-open')
    await b.fire()
    // 2 failures of 4 = 50 %: not above 50 %.
    expect(b.state).toBe('closed')
  })

  it('frees a probe slot refused by capacity, so half-open cannot stall', async () => {
    breaker = createBreaker(dep.fn, { volumeThreshold: 1, resetTimeout: 100, halfOpenProbes: 2, capacity: 1 })
    breaker.trip()
    await vi.advanceTimersByTimeAsync(100)
    dep.delayMs = 50
    const first = settle(breaker.fire())
    const second = await settle(breaker.fire())
    expect(second.ok).toBe(false)
    await vi.advanceTimersByTimeAsync(50)
    await first
    expect(breaker.state).toBe('half-open')
    const third = settle(breaker.fire())
    await vi.advanceTimersByTimeAsync(50)
    expect((await third).ok).toBe(true)
    expect(breaker.state).toBe('closed')
  })
})
