import diagnosticsChannel from 'node:diagnostics_channel'
import { createManualClock, type ManualClock } from '@headroom/core'
import { describe, expect, it } from 'vitest'
import {
  createPoolSizer,
  genericPoolTarget,
  type PoolObserver,
  type PoolTarget,
  pgPoolTarget,
  type ResizeReason,
} from '../src/index.js'

/**
 * A pool simulated in memory: `max` set by the sizer, a latency curve with a knee, and
 * a hook to play checkouts through the observer as a real adapter would.
 */
function fakeTarget(options: { max: number; maxConnections?: number; floor?: number }) {
  let max = options.max
  let observer: PoolObserver | undefined
  let waiting = 0
  const resizes: number[] = []
  const target: PoolTarget = {
    kind: 'fake',
    floor: options.floor ?? 0,
    snapshot: () => ({ max, total: max, inUse: max, idle: 0, waiting }),
    resize(next) {
      max = next
      resizes.push(next)
    },
    observe(next) {
      observer = next
      return () => {
        observer = undefined
      }
    },
    ...(options.maxConnections === undefined
      ? {}
      : { maxConnections: () => Promise.resolve(options.maxConnections as number) }),
  }
  return {
    target,
    resizes,
    get max() {
      return max
    },
    get attached() {
      return observer !== undefined
    },
    setWaiting(n: number) {
      waiting = n
    },
    /** One interval of saturated traffic whose latency follows `rttOf(size)`. */
    play(rttOf: (size: number) => number, outcome: 'success' | 'dropped' = 'success') {
      for (let i = 0; i < 20; i++) {
        observer?.acquired(1)
        observer?.released(rttOf(max), outcome)
      }
    },
  }
}

const knee = (k: number) => (size: number) => 10 * Math.max(1, size / k)

async function drive(
  clock: ManualClock,
  pool: ReturnType<typeof fakeTarget>,
  intervals: number,
  rtt = knee(8),
) {
  for (let i = 0; i < intervals; i++) {
    pool.play(rtt)
    await clock.advanceAsync(250)
  }
}

describe('createPoolSizer', () => {
  it('comes down from an oversized pool after a no-load probe, and stays near the knee', async () => {
    const clock = createManualClock()
    const pool = fakeTarget({ max: 40 })
    pool.setWaiting(30)
    const sizer = createPoolSizer({ target: pool.target, min: 1, max: 64, clock })
    const reasons: ResizeReason[] = []
    sizer.on('resize', (event) => reasons.push(event.reason))
    await drive(clock, pool, 1)
    expect(sizer.stats().probing).toBe(true)
    expect(pool.max).toBe(2)
    await drive(clock, pool, 2)
    expect(sizer.stats().noLoadRtt).toBe(10)
    expect(reasons.slice(0, 2)).toEqual(['probe', 'restore'])
    await drive(clock, pool, 40)
    expect(pool.max).toBeGreaterThanOrEqual(5)
    expect(pool.max).toBeLessThanOrEqual(14)
    expect(reasons).toContain('latency')
    sizer.close()
  })

  it('grows a small pool while latency stays flat and callers wait', async () => {
    const clock = createManualClock()
    const pool = fakeTarget({ max: 1 })
    pool.setWaiting(30)
    const sizer = createPoolSizer({ target: pool.target, min: 1, max: 64, clock })
    await drive(clock, pool, 40, knee(16))
    expect(pool.max).toBeGreaterThanOrEqual(10)
    sizer.close()
  })

  it('does not grow an app-limited pool (nobody waits, few in use)', async () => {
    const clock = createManualClock()
    const pool = fakeTarget({ max: 10 })
    const target: PoolTarget = {
      ...pool.target,
      snapshot: () => ({ max: pool.max, total: 2, inUse: 2, idle: 8, waiting: 0 }),
    }
    const sizer = createPoolSizer({ target, min: 1, max: 64, clock, probe: false })
    await drive(clock, pool, 40, () => 10)
    expect(pool.max).toBe(10)
    sizer.close()
  })

  it('shrinks on drops (AIMD)', async () => {
    const clock = createManualClock()
    const pool = fakeTarget({ max: 20 })
    pool.setWaiting(5)
    const sizer = createPoolSizer({
      target: pool.target,
      algorithm: 'aimd',
      min: 2,
      max: 64,
      clock,
      probe: false,
    })
    const reasons: ResizeReason[] = []
    sizer.on('resize', (event) => reasons.push(event.reason))
    pool.play(() => 10, 'dropped')
    await clock.advanceAsync(250)
    expect(pool.max).toBe(18)
    expect(reasons).toEqual(['drop'])
    sizer.close()
  })

  it('never exceeds max nor the max_connections share per instance', async () => {
    const clock = createManualClock()
    const pool = fakeTarget({ max: 50, maxConnections: 100 })
    pool.setWaiting(100)
    const sizer = createPoolSizer({ target: pool.target, min: 1, max: 60, instances: 4, clock, probe: false })
    await clock.advanceAsync(0)
    expect(pool.max).toBe(25)
    expect(sizer.stats()).toMatchObject({ maxConnections: 100, ceiling: 25 })
    await drive(clock, pool, 60, () => 10)
    expect(Math.max(...pool.resizes)).toBe(25)
    sizer.close()

    const small = fakeTarget({ max: 5 })
    small.setWaiting(100)
    const capped = createPoolSizer({ target: small.target, min: 1, max: 12, clock, probe: false })
    await drive(clock, small, 60, () => 10)
    expect(Math.max(...small.resizes)).toBe(12)
    capped.close()
  })

  it('keeps the pool at or above its own min and the sizer min', async () => {
    const clock = createManualClock()
    const pool = fakeTarget({ max: 10, floor: 4 })
    pool.setWaiting(10)
    const sizer = createPoolSizer({
      target: pool.target,
      algorithm: 'aimd',
      min: 2,
      max: 20,
      clock,
      probe: false,
    })
    for (let i = 0; i < 30; i++) {
      pool.play(() => 10, 'dropped')
      await clock.advanceAsync(250)
    }
    expect(pool.max).toBe(4)
    sizer.close()
  })

  it('reports each resize as an event, a debug log line and on headroom:pool:resize', async () => {
    const clock = createManualClock()
    const pool = fakeTarget({ max: 20 })
    pool.setWaiting(5)
    const published: unknown[] = []
    const onMessage = (message: unknown) => published.push(message)
    diagnosticsChannel.subscribe('headroom:pool:resize', onMessage)
    const debug: unknown[] = []
    const logger = { trace() {}, debug: (obj: unknown) => debug.push(obj), info() {}, warn() {}, error() {} }
    const sizer = createPoolSizer({
      target: pool.target,
      algorithm: 'aimd',
      clock,
      probe: false,
      logger,
      name: 'db1',
    })
    const events: unknown[] = []
    sizer.on('resize', (event) => events.push(event))
    pool.play(() => 10, 'dropped')
    await clock.advanceAsync(250)
    diagnosticsChannel.unsubscribe('headroom:pool:resize', onMessage)
    const expected = { name: 'db1', old: 20, new: 18, reason: 'drop' }
    expect(events).toEqual([expected])
    expect(published).toEqual([expected])
    expect(debug).toContainEqual({ old: 20, new: 18, reason: 'drop' })
    expect(sizer.stats()).toMatchObject({ size: 18, resizes: 1, checkouts: { dropped: 20 } })
    sizer.close()
  })

  it('resize() sets the size by hand within bounds', () => {
    const clock = createManualClock()
    const pool = fakeTarget({ max: 10 })
    const sizer = createPoolSizer({ target: pool.target, min: 2, max: 20, clock })
    sizer.resize(100)
    expect(pool.max).toBe(20)
    sizer.resize(1)
    expect(pool.max).toBe(2)
    expect(() => sizer.resize(0)).toThrow(/expected a positive size/)
    sizer.close()
  })

  it('close() clears its timer and unhooks the pool', async () => {
    const clock = createManualClock()
    const pool = fakeTarget({ max: 10 })
    const sizer = createPoolSizer({ target: pool.target, clock })
    expect(clock.pending()).toBe(1)
    expect(pool.attached).toBe(true)
    sizer.close()
    expect(clock.pending()).toBe(0)
    expect(pool.attached).toBe(false)
    await clock.advanceAsync(10_000)
    expect(pool.resizes).toEqual([])
  })

  it('keeps no timer while the pool is idle, and wakes on the next checkout', async () => {
    const clock = createManualClock()
    let inUse = 0
    let observer: PoolObserver | undefined
    let max = 10
    const target: PoolTarget = {
      kind: 'fake',
      floor: 0,
      snapshot: () => ({ max, total: inUse, inUse, idle: 0, waiting: 0 }),
      resize: (next) => {
        max = next
      },
      observe: (next) => {
        observer = next
        return () => {
          observer = undefined
        }
      },
      maxConnections: () => Promise.resolve(100),
    }
    const sizer = createPoolSizer({ target, clock, probe: false })
    // The first interval learns max_connections; then nothing happens, so no timer is left.
    await clock.advanceAsync(1_000)
    expect(clock.pending()).toBe(0)
    await clock.advanceAsync(60_000)
    expect(clock.pending()).toBe(0)

    // Traffic: the sizer ticks again and follows the checkouts.
    inUse = 4
    observer?.acquired(1)
    expect(clock.pending()).toBe(1)
    for (let i = 0; i < 8; i++) {
      for (let j = 0; j < 20; j++) {
        observer?.acquired(1)
        observer?.released(10, 'success')
      }
      await clock.advanceAsync(250)
    }
    expect(sizer.stats().checkouts.success).toBe(160)
    expect(clock.pending()).toBe(1)

    // Idle again: one more interval sees nothing, and the timer stops.
    inUse = 0
    await clock.advanceAsync(1_000)
    expect(clock.pending()).toBe(0)
    sizer.close()
  })
})

describe('createPoolSizer options', () => {
  const target = fakeTarget({ max: 10 }).target
  it.each([
    [{ target, min: 8, max: 4 }, /"min": expected min <= max \(max is 4\)/],
    [{ target, max: 0 }, /"max": expected a positive integer \(received 0\)/],
    [{ target, intervalMs: 'fast' }, /"intervalMs": expected a number \(received "fast"\)/],
    [{ target, instances: 1.5 }, /"instances": expected an integer/],
    [{ target, initial: 50, max: 20 }, /"initial": expected initial between min \(1\) and max \(20\)/],
    [{ target: 'pg' }, /"target": expected a pg Pool/],
    [{ target: {} }, /"target": expected a pg Pool, a generic-pool pool or a PoolTarget/],
  ])('refuses %o with a clear error', (options, message) => {
    expect(() => createPoolSizer(options as never)).toThrow(message)
  })
})

describe('pool target options', () => {
  it('refuses unknown keys and invalid values, naming the option', () => {
    const pool = {} as never
    expect(() => pgPoolTarget(pool, { isDorp: () => true } as never)).toThrow(
      /Invalid pgPoolTarget option "isDorp": unknown option; did you mean "isDrop"\?/,
    )
    expect(() => pgPoolTarget(pool, { isDrop: true } as never)).toThrow(
      /Invalid pgPoolTarget option "isDrop": expected a function/,
    )
    expect(() => genericPoolTarget(pool, { maxConnection: 10 } as never)).toThrow(
      /Invalid genericPoolTarget option "maxConnection": unknown option; did you mean "maxConnections"\?/,
    )
    expect(() => genericPoolTarget(pool, { maxConnections: -1 })).toThrow(
      /Invalid genericPoolTarget option "maxConnections": expected a positive integer/,
    )
  })

  it('refuses an unknown createPoolSizer option, and a probe key it does not know', () => {
    const target = fakeTarget({ max: 4 }).target
    expect(() => createPoolSizer({ target, intervalMS: 100 } as never)).toThrow(
      /Invalid createPoolSizer option "intervalMS": unknown option; did you mean "intervalMs"\?/,
    )
    expect(() => createPoolSizer({ target, probe: { interval: 10 } } as never)).toThrow(
      /Invalid createPoolSizer option "probe.interval"/,
    )
  })
})
