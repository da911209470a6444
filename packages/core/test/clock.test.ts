import { afterEach, describe, expect, it, vi } from 'vitest'
import { clampDelay, MAX_TIMER_DELAY_MS, sleep, systemClock } from '../src/time/clock.js'
import { createManualClock } from '../src/time/manual-clock.js'

describe('systemClock', () => {
  afterEach(() => {
    vi.useRealTimers()
  })

  it('follows fake timers installed after import', async () => {
    vi.useFakeTimers({ now: 1_000 })
    expect(systemClock.now()).toBe(1_000)
    const fired = vi.fn()
    systemClock.setTimeout(fired, 100)
    await vi.advanceTimersByTimeAsync(99)
    expect(fired).not.toHaveBeenCalled()
    await vi.advanceTimersByTimeAsync(1)
    expect(fired).toHaveBeenCalledOnce()
  })

  it('unrefs its timers so they never hold the process open', () => {
    const handle = systemClock.setTimeout(() => {}, 10_000) as NodeJS.Timeout
    expect(handle.hasRef()).toBe(false)
    systemClock.clearTimeout(handle)
  })

  it('clamps delays past Node’s timer ceiling instead of firing at once', () => {
    vi.useFakeTimers()
    const fired = vi.fn()
    systemClock.setTimeout(fired, 30 * 24 * 3600 * 1000)
    vi.advanceTimersByTime(1_000)
    expect(fired).not.toHaveBeenCalled()
    expect(clampDelay(Number.POSITIVE_INFINITY)).toBe(MAX_TIMER_DELAY_MS)
    expect(clampDelay(-5)).toBe(0)
    expect(clampDelay(Number.NaN)).toBe(0)
  })
})

describe('createManualClock', () => {
  it('runs due timers in deadline order and moves time to each', () => {
    const clock = createManualClock(100)
    const seen: [string, number][] = []
    clock.setTimeout(() => seen.push(['b', clock.now()]), 50)
    clock.setTimeout(() => seen.push(['a', clock.now()]), 10)
    clock.setTimeout(() => seen.push(['c', clock.now()]), 500)
    clock.advance(60)
    expect(seen).toEqual([
      ['a', 110],
      ['b', 150],
    ])
    expect(clock.now()).toBe(160)
    expect(clock.pending()).toBe(1)
  })

  it('runs timers scheduled by timers within the same advance', () => {
    const clock = createManualClock()
    const seen: number[] = []
    clock.setTimeout(() => {
      seen.push(clock.now())
      clock.setTimeout(() => seen.push(clock.now()), 10)
    }, 10)
    clock.advance(25)
    expect(seen).toEqual([10, 20])
  })

  it('clears timers', () => {
    const clock = createManualClock()
    const fired = vi.fn()
    const handle = clock.setTimeout(fired, 10)
    clock.clearTimeout(handle)
    clock.advance(100)
    expect(fired).not.toHaveBeenCalled()
  })

  it('lets promise callbacks run between timers with advanceAsync', async () => {
    const clock = createManualClock()
    const seen: string[] = []
    void sleep(10, clock).then(() => {
      seen.push('slept')
      clock.setTimeout(() => seen.push('after'), 5)
    })
    await clock.advanceAsync(20)
    expect(seen).toEqual(['slept', 'after'])
  })
})

describe('sleep', () => {
  it('rejects with the abort reason and clears its timer', async () => {
    const clock = createManualClock()
    const controller = new AbortController()
    const slept = sleep(1_000, clock, controller.signal)
    controller.abort(new Error('stop'))
    await expect(slept).rejects.toThrow('stop')
    expect(clock.pending()).toBe(0)
  })

  it('rejects at once when the signal is already aborted', async () => {
    await expect(sleep(10, createManualClock(), AbortSignal.abort(new Error('early')))).rejects.toThrow(
      'early',
    )
  })
})
