import { ClosedError, createManualClock, isHeadroomError, TimeoutError } from '@headroom/core'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  type ConcurrencyLimiter,
  createAdaptiveLimiter,
  createConcurrencyLimiter,
  isLimitExceededError,
  type Lease,
  LimitExceededError,
} from '../src/index.js'

const flush = async () => {
  for (let i = 0; i < 10; i++) await Promise.resolve()
}

describe('createAdaptiveLimiter', () => {
  it('admits up to the limit and queues the rest in order', async () => {
    const clock = createManualClock()
    const limiter = createAdaptiveLimiter({ algorithm: 'aimd', initial: 2, min: 1, max: 10, clock })
    const leases: Lease[] = []
    const order: number[] = []
    for (let i = 0; i < 4; i++)
      void limiter.acquire().then(
        (lease) => {
          order.push(i)
          leases.push(lease)
        },
        () => {},
      )
    await flush()
    expect(order).toEqual([0, 1])
    expect(limiter.stats()).toMatchObject({ inflight: 2, queued: 2 })
    leases[0]!.ignore()
    await flush()
    expect(order).toEqual([0, 1, 2])
    limiter.close()
  })

  it('refuses with a typed error after maxWaitMs, with one timer for every waiter', async () => {
    const clock = createManualClock()
    const limiter = createAdaptiveLimiter({ algorithm: 'aimd', initial: 1, maxWaitMs: 100, clock })
    const held = await limiter.acquire()
    const waits = [limiter.acquire(), limiter.acquire(), limiter.acquire()]
    const settled = waits.map((p) =>
      p.then(
        () => 'ok',
        (error: unknown) => error,
      ),
    )
    expect(clock.pending()).toBe(1)
    await clock.advanceAsync(99)
    expect(limiter.stats().queued).toBe(3)
    await clock.advanceAsync(1)
    for (const result of await Promise.all(settled)) {
      expect(result).toBeInstanceOf(LimitExceededError)
      expect(isHeadroomError(result, 'E_OVERLOADED')).toBe(true)
      expect((result as LimitExceededError).reason).toBe('timeout')
    }
    expect(limiter.stats().rejected.timeout).toBe(3)
    expect(clock.pending()).toBe(0)
    held.ignore()
    limiter.close()
  })

  it('refuses at once when the queue is full or maxWaitMs is 0', async () => {
    const clock = createManualClock()
    const full = createAdaptiveLimiter({ algorithm: 'aimd', initial: 1, maxQueue: 1, clock })
    await full.acquire()
    void full.acquire().catch(() => {})
    const error = await full.acquire().catch((e: unknown) => e)
    expect(isLimitExceededError(error)).toBe(true)
    expect((error as LimitExceededError).reason).toBe('queue-full')
    full.close()

    const noWait = createAdaptiveLimiter({ algorithm: 'aimd', initial: 1, maxWaitMs: 0, clock })
    await noWait.acquire()
    await expect(noWait.acquire()).rejects.toMatchObject({ reason: 'timeout', code: 'E_OVERLOADED' })
    noWait.close()
  })

  it('gives a partition under its guaranteed share the next slot, then goes by priority', async () => {
    const clock = createManualClock()
    const limiter = createAdaptiveLimiter({
      algorithm: 'aimd',
      initial: 10,
      min: 10,
      max: 10,
      partitions: { interactive: 0.9, batch: 0.1 },
      clock,
    })
    const held: Lease[] = []
    for (let i = 0; i < 10; i++) held.push(await limiter.acquire({ partition: 'interactive' }))
    const got: string[] = []
    const take = (partition: string) =>
      limiter.acquire({ partition }).then((lease) => {
        got.push(partition)
        return lease
      })
    const waiting = [take('interactive'), take('interactive'), take('batch'), take('batch')]
    await flush()
    held.pop()!.success()
    await flush()
    // batch holds 0 of its guaranteed 1 slot: it goes before the interactive waiters.
    expect(got).toEqual(['batch'])
    held.pop()!.success()
    held.pop()!.success()
    await flush()
    expect(got).toEqual(['batch', 'interactive', 'interactive'])
    expect(limiter.stats().partitions.batch).toMatchObject({ guaranteed: 1, inflight: 1, queued: 1 })
    for (const lease of held) lease.ignore()
    await flush()
    for (const lease of await Promise.all(waiting)) lease.ignore()
    limiter.close()
  })

  it('stops waiting when the signal aborts', async () => {
    const clock = createManualClock()
    const limiter = createAdaptiveLimiter({ algorithm: 'aimd', initial: 1, clock })
    const held = await limiter.acquire()
    const controller = new AbortController()
    const waiting = limiter.acquire({ signal: controller.signal })
    controller.abort(new Error('gone'))
    await expect(waiting).rejects.toThrow('gone')
    expect(limiter.stats().queued).toBe(0)
    held.ignore()
    expect(limiter.inflight).toBe(0)
    limiter.close()
  })

  it('run() reports drops, which shrink the limit, and ignores unrelated errors', async () => {
    const clock = createManualClock()
    const limiter = createAdaptiveLimiter({ algorithm: 'aimd', initial: 20, clock })
    await expect(limiter.run(() => Promise.reject(new TimeoutError()))).rejects.toBeInstanceOf(TimeoutError)
    expect(limiter.limit).toBe(18)
    await expect(limiter.run(() => Promise.reject(new Error('syntax error')))).rejects.toThrow('syntax error')
    expect(limiter.limit).toBe(18)
    expect(await limiter.run(() => 42)).toBe(42)
    expect(limiter.stats().completed).toEqual({ success: 1, dropped: 1, ignored: 1 })
    limiter.close()
  })

  it('samples RTTs on the injected clock and grows while latency is flat', async () => {
    const clock = createManualClock()
    // No probe: this is about the samples the algorithm gets (the probe has its own test).
    const limiter = createAdaptiveLimiter({ algorithm: 'vegas', initial: 4, max: 50, probe: false, clock })
    const seen: number[] = []
    limiter.on('limit', (event) => seen.push(event.new))
    for (let round = 0; round < 20; round++) {
      const leases = await Promise.all(Array.from({ length: limiter.limit }, () => limiter.acquire()))
      clock.advance(10)
      for (const lease of leases) lease.success()
    }
    expect(limiter.limit).toBeGreaterThan(4)
    expect(seen.length).toBeGreaterThan(0)
    expect(limiter.stats().rtt.p50).toBeCloseTo(10, 0)
    limiter.close()
  })

  it('close() refuses waiters and later calls, and leaves no timer', async () => {
    const clock = createManualClock()
    const limiter = createAdaptiveLimiter({ algorithm: 'aimd', initial: 1, clock })
    const held = await limiter.acquire()
    const waiting = limiter.acquire()
    limiter.close()
    await expect(waiting).rejects.toBeInstanceOf(ClosedError)
    await expect(limiter.acquire()).rejects.toBeInstanceOf(ClosedError)
    expect(clock.pending()).toBe(0)
    held.success()
  })

  it('a lease reports once, however often it is called', async () => {
    const limiter = createAdaptiveLimiter({ algorithm: 'aimd', initial: 5, clock: createManualClock() })
    const lease = await limiter.acquire()
    lease.success()
    lease.dropped()
    expect(limiter.inflight).toBe(0)
    expect(limiter.stats().completed).toEqual({ success: 1, dropped: 0, ignored: 0 })
    limiter.close()
  })

  it('refuses an unknown partition', async () => {
    const limiter = createAdaptiveLimiter({ partitions: { a: 0.5, b: 0.5 } })
    await expect(limiter.acquire({ partition: 'c' })).rejects.toThrow(/Unknown partition "c"/)
    limiter.close()
  })

  it('never runs more than the limit at once (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 8 }),
        fc.array(fc.record({ duration: fc.integer({ min: 1, max: 50 }), fail: fc.boolean() }), {
          minLength: 1,
          maxLength: 60,
        }),
        async (initial, jobs) => {
          const clock = createManualClock()
          const limiter = createAdaptiveLimiter({
            algorithm: 'aimd',
            initial,
            min: 1,
            max: initial,
            maxWaitMs: 1_000_000,
            clock,
          })
          let running = 0
          let peak = 0
          let done = 0
          const all = jobs.map((job) =>
            limiter
              .run(async () => {
                running++
                peak = Math.max(peak, running)
                await new Promise<void>((resolve) => clock.setTimeout(resolve, job.duration))
                running--
                if (job.fail) throw new TimeoutError()
              })
              .catch(() => {})
              .finally(() => done++),
          )
          for (let i = 0; i < jobs.length * 60 && done < jobs.length; i++) await clock.advanceAsync(1)
          await Promise.all(all)
          limiter.close()
          return peak <= initial && limiter.inflight === 0
        },
      ),
      { numRuns: 40 },
    )
  })
})

describe('createAdaptiveLimiter options', () => {
  it.each([
    [{ min: 10, max: 5 }, /"min": expected min <= max/],
    [{ max: 0 }, /"max": expected a positive integer \(received 0\)/],
    [{ initial: 'ten' }, /"initial": expected a number \(received "ten"\)/],
    [{ maxWaitMs: -1 }, /"maxWaitMs": expected a number >= 0/],
    [{ algorithm: 'bbr' }, /"algorithm": expected "minrtt", "gradient2", "vegas", "aimd"/],
    [
      { algorithm: { name: 'gradient2', smoothing: Number.NaN } },
      /"algorithm.smoothing": expected a finite number in \(0, 1\] \(received NaN\)/,
    ],
    [
      { algorithm: { name: 'minrtt', tolerance: Number.POSITIVE_INFINITY } },
      /"algorithm.tolerance": expected a finite number in \[1, 10\] \(received Infinity\)/,
    ],
    [
      { algorithm: { name: 'vegas', smoothing: 2 } },
      /"algorithm.smoothing": expected a finite number in \(0, 1\]/,
    ],
    [
      { algorithm: { name: 'aimd', backoffRatio: 0 } },
      /"algorithm.backoffRatio": expected a finite number in \[0.5, 1\)/,
    ],
    [{ algorithm: { name: 'gradient2', longWindow: 0.5 } }, /"algorithm.longWindow": expected an integer/],
    [{ algorithm: { name: 'gradient2', smothing: 0.1 } }, /"algorithm": unknown gradient2 tuning "smothing"/],
    [
      { maxWaitMs: Number.NaN },
      /"maxWaitMs": expected a number >= 0 \(Infinity for no bound\) \(received NaN\)/,
    ],
    [{ maxWaitMs: 50, congestedWaitMs: 100 }, /"congestedWaitMs": expected congestedWaitMs <= maxWaitMs/],
    [{ congestedWaitMs: Number.POSITIVE_INFINITY }, /"congestedWaitMs": expected a finite number >= 0/],
    [{ maxQueue: 1.5 }, /"maxQueue": expected an integer >= 0 \(Infinity for no bound\)/],
    [{ probe: { intervalMs: 0 } }, /"probe.intervalMs": expected a positive integer \(received 0\)/],
    [{ initial: Number.POSITIVE_INFINITY }, /"initial": expected a number \(received Infinity\)/],
    [{ partitions: { a: 0.7, b: 0.7 } }, /"partitions": expected shares that sum to at most 1/],
    [{ min: Number.NaN }, /"min": expected a number \(received NaN\)/],
  ])('refuses %o with a clear error', (options, message) => {
    expect(() => createAdaptiveLimiter(options as never)).toThrow(message)
    expect(() => createAdaptiveLimiter(options as never)).toThrow(TypeError)
  })
})

describe('createAdaptiveLimiter waits', () => {
  it('accepts Infinity for maxWaitMs and maxQueue: a call waits as long as it takes', async () => {
    const clock = createManualClock()
    const limiter = createAdaptiveLimiter({
      algorithm: 'aimd',
      initial: 1,
      maxWaitMs: Number.POSITIVE_INFINITY,
      maxQueue: Number.POSITIVE_INFINITY,
      clock,
    })
    const held = await limiter.acquire()
    const waiting = Array.from({ length: 3 }, () => limiter.acquire())
    // No deadline, so no timer: nothing expires however long the slot stays taken.
    expect(clock.pending()).toBe(0)
    await clock.advanceAsync(24 * 3600 * 1000)
    expect(limiter.stats()).toMatchObject({ queued: 3, rejected: { timeout: 0, 'queue-full': 0 } })
    held.success()
    const next = await waiting[0]!
    expect(limiter.stats().queued).toBe(2)
    next.success()
    for (const lease of await Promise.all(waiting.slice(1))) lease.success()
    limiter.close()
  })

  it('under a standing queue, a freed slot goes to a call that waited at most congestedWaitMs', async () => {
    const clock = createManualClock()
    const limiter = createAdaptiveLimiter({
      algorithm: 'aimd',
      min: 1,
      max: 1,
      initial: 1,
      maxWaitMs: 100,
      congestedWaitMs: 10,
      clock,
    })
    let held = await limiter.acquire()
    const outcomes: string[] = []
    const arrive = (label: string) =>
      limiter.acquire().then(
        (lease) => {
          outcomes.push(`${label} ran`)
          held = lease
        },
        (error: unknown) => outcomes.push(`${label} ${(error as LimitExceededError).reason}`),
      )
    // A burst: the queue has stood for less than maxWaitMs, so a 50 ms wait is served.
    const burst = arrive('a')
    await clock.advanceAsync(50)
    held.success()
    await burst
    expect(outcomes).toEqual(['a ran'])
    // A standing queue: arrivals every 20 ms while the slot stays taken for 150 ms.
    const standing = [arrive('b')]
    for (const label of ['c', 'd', 'e', 'f', 'g', 'h']) {
      await clock.advanceAsync(20)
      standing.push(arrive(label))
    }
    await clock.advanceAsync(5)
    // The queue has stood 125 ms > maxWaitMs: b (waited 125 ms) .. g (25 ms) are refused,
    // h (5 ms) gets the slot.
    held.success()
    await flush()
    expect(outcomes).toEqual([
      'a ran',
      'b timeout',
      'c timeout',
      'd timeout',
      'e timeout',
      'f timeout',
      'g timeout',
      'h ran',
    ])
    expect(limiter.stats().rejected.timeout).toBe(6)
    held.success()
    await Promise.all(standing)
    limiter.close()
  })
})

describe('createConcurrencyLimiter (deprecated alias)', () => {
  it('still creates an adaptive limiter', async () => {
    const limiter: ConcurrencyLimiter = createConcurrencyLimiter({
      algorithm: 'aimd',
      initial: 1,
      clock: createManualClock(),
    })
    expect(createConcurrencyLimiter).toBe(createAdaptiveLimiter)
    expect(await limiter.run(() => 'ran')).toBe('ran')
    expect(limiter.stats()).toMatchObject({ algorithm: 'aimd', admitted: 1, completed: { success: 1 } })
    limiter.close()
  })
})

describe('per-call options', () => {
  it('refuses an unknown key of run() and acquire() options, naming it', async () => {
    const limiter = createAdaptiveLimiter({ clock: createManualClock() })
    await expect(limiter.run(() => 1, { partiton: 'default' } as never)).rejects.toThrow(
      /Invalid run option "partiton": unknown option; did you mean "partition"\?/,
    )
    await expect(limiter.acquire({ signl: undefined } as never)).rejects.toThrow(
      /Invalid acquire option "signl": unknown option/,
    )
    await expect(limiter.run(() => 1, { partition: 3 } as never)).rejects.toThrow(
      /Invalid run option "partition": expected string/,
    )
    expect(await limiter.run(() => 2, { partition: 'default' })).toBe(2)
    limiter.close()
  })
})
