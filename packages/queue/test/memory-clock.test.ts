import { createManualClock } from '@headroom/core'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { backoffDelay, createQueue, createWorker } from '../src/index.js'
import { storeOf } from './helpers.js'

const flush = async () => {
  for (let i = 0; i < 20; i++) await Promise.resolve()
}

describe('memory store on a manual clock', () => {
  it('a delayed job becomes claimable exactly when its delay has passed', async () => {
    const clock = createManualClock(1_000)
    const queue = createQueue({ name: 'delay', clock })
    const ran: number[] = []
    const worker = createWorker(queue, { later: () => void ran.push(clock.now()) }, { pollIntervalMs: 10 })
    await queue.add('later', {}, { delay: 5_000 })
    await clock.advanceAsync(4_990)
    expect(ran).toEqual([])
    await clock.advanceAsync(20)
    await flush()
    expect(ran).toHaveLength(1)
    expect(ran[0]).toBeGreaterThanOrEqual(6_000)
    await worker.close()
    await queue.close()
    expect(clock.pending()).toBe(0)
  })

  it('an expired lease is recovered on the next claim, with the original priority and place', async () => {
    const clock = createManualClock()
    const queue = createQueue({ name: 'lease', clock, leaseMs: 2_000 })
    const store = storeOf(queue)
    const a = await queue.add('x', {}, { priority: 'HIGH' })
    const b = await queue.add('x', {}, { priority: 'HIGH' })
    const first = await store.claim({ count: 1, leaseMs: 2_000, maxPriority: undefined })
    expect(first.jobs.map((j) => j.id)).toEqual([a])
    clock.advance(1_999)
    expect((await store.claim({ count: 0, leaseMs: 2_000, maxPriority: undefined })).stalled).toEqual([])
    clock.advance(1)
    const again = await store.claim({ count: 1, leaseMs: 2_000, maxPriority: undefined })
    expect(again.stalled).toEqual([a])
    // `a` kept its place ahead of `b` (same priority, added first).
    expect(again.jobs.map((j) => j.id)).toEqual([a])
    expect(again.jobs[0]!.attempt).toBe(2)
    expect(await store.extend([{ id: a, token: first.jobs[0]!.token }], 2_000)).toEqual([a])
    expect(await store.settle([{ id: a, token: again.jobs[0]!.token, outcome: 'completed' }])).toEqual([true])
    expect(b).toBe('2')
    await queue.close()
  })

  it('a heartbeat extends the lease; without it the job is recovered', async () => {
    const clock = createManualClock()
    const queue = createQueue({ name: 'hb', clock, leaseMs: 1_000 })
    const store = storeOf(queue)
    await queue.add('x', {})
    const [job] = (await store.claim({ count: 1, leaseMs: 1_000, maxPriority: undefined })).jobs
    clock.advance(900)
    expect(await store.extend([{ id: job!.id, token: job!.token }], 1_000)).toEqual([])
    clock.advance(900)
    expect((await store.claim({ count: 1, leaseMs: 1_000, maxPriority: undefined })).stalled).toEqual([])
    clock.advance(200)
    expect((await store.claim({ count: 1, leaseMs: 1_000, maxPriority: undefined })).stalled).toEqual([
      job!.id,
    ])
    await queue.close()
  })

  it('a job that stalls more than maxStalls times is dead-lettered', async () => {
    const clock = createManualClock()
    const queue = createQueue({ name: 'stalls', clock, leaseMs: 100, maxStalls: 2 })
    const store = storeOf(queue)
    const id = await queue.add('x', {})
    for (let i = 0; i < 3; i++) {
      await store.claim({ count: 1, leaseMs: 100, maxPriority: undefined })
      clock.advance(100)
    }
    await store.claim({ count: 1, leaseMs: 100, maxPriority: undefined })
    expect(await queue.getJob(id)).toMatchObject({
      state: 'failed',
      stalls: 3,
      error: { code: 'E_LEASE_LOST' },
    })
    await queue.close()
  })

  it('stats() reports the age of the oldest waiting job by the store clock', async () => {
    const clock = createManualClock(10_000)
    const queue = createQueue({ name: 'age', clock })
    expect((await queue.stats()).oldestWaitMs).toBe(0)
    await queue.add('x', {}, { priority: 'LOW' })
    clock.advance(25)
    await queue.add('x', {}, { priority: 'CRITICAL' })
    clock.advance(5)
    expect((await queue.stats()).oldestWaitMs).toBe(30)
    await queue.close()
  })

  it('aging: a LOW job that waited past agingMs is claimed before newer CRITICAL work', async () => {
    const clock = createManualClock()
    const queue = createQueue({ name: 'aging', clock, agingMs: 200 })
    const store = storeOf(queue)
    const low = await queue.add('x', {}, { priority: 'LOW' })
    clock.advance(199)
    const critical = await queue.add('x', {}, { priority: 'CRITICAL' })
    // At 199 ms the LOW job has not aged: strict priority.
    const first = await store.claim({ count: 1, leaseMs: 1_000, maxPriority: undefined })
    expect(first.jobs.map((j) => j.id)).toEqual([critical])
    await queue.add('x', {}, { priority: 'CRITICAL' })
    clock.advance(1)
    // At 200 ms it has: it goes ahead of the CRITICAL job added after it.
    const second = await store.claim({ count: 1, leaseMs: 1_000, maxPriority: undefined })
    expect(second.jobs.map((j) => j.id)).toEqual([low])
    await queue.close()
  })
})

describe('backoffDelay', () => {
  it('property: grows by factor, stays within [d, 2d) with jitter, never above maxDelayMs', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 10_000 }),
        fc.double({ min: 1, max: 4, noNaN: true }),
        fc.integer({ min: 0, max: 120_000 }),
        fc.integer({ min: 1, max: 30 }),
        fc.double({ min: 0, max: 0.999, noNaN: true }),
        (minDelayMs, factor, maxDelayMs, attempt, random) => {
          const plain = backoffDelay(
            { attempts: 99, minDelayMs, factor, maxDelayMs, randomize: false },
            attempt,
          )
          const base = Math.min(maxDelayMs, minDelayMs * factor ** (attempt - 1))
          expect(plain).toBe(Math.round(base))
          const jittered = backoffDelay(
            { attempts: 99, minDelayMs, factor, maxDelayMs, randomize: true },
            attempt,
            () => random,
          )
          expect(jittered).toBeLessThanOrEqual(maxDelayMs)
          expect(jittered).toBeGreaterThanOrEqual(Math.min(maxDelayMs, Math.round(base)) - 1)
        },
      ),
    )
  })
})

describe('createQueue / createWorker options', () => {
  it('reject bad options with a message naming the option and value', () => {
    expect(() => createQueue({ name: '' })).toThrow(/createQueue option "name"/)
    expect(() => createQueue({ name: 'a{b}' })).toThrow(/"name".*\{/)
    expect(() => createQueue({ name: 'q', leaseMs: 10 })).toThrow(/"leaseMs".*10/)
    expect(() => createQueue({ name: 'q', leaseMs: 1000, heartbeatMs: 2000 })).toThrow(/heartbeatMs/)
    expect(() => createQueue({ name: 'q', retry: { attempts: 0 } })).toThrow(/"retry.attempts"/)
    const queue = createQueue({ name: 'q' })
    expect(() => createWorker(queue, {}, { concurrency: 0 })).toThrow(/createWorker option "concurrency"/)
    expect(() => createWorker(queue, { x: 'nope' as never })).toThrow(/handler "x"/)
  })
})
