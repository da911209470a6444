import { createManualClock, QueueClosedError } from '@headroom/core'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { createTaskQueue, Priority } from '../src/index.js'

const deferred = () => {
  let resolve!: () => void
  const promise = new Promise<void>((r) => {
    resolve = r
  })
  return { promise, resolve }
}

describe('createTaskQueue', () => {
  it('runs by priority (lower first), FIFO within a priority', async () => {
    const queue = createTaskQueue({ concurrency: 1, autoStart: false })
    const seen: string[] = []
    const add = (label: string, priority: 'CRITICAL' | 'HIGH' | 'MEDIUM' | 'LOW' | number) =>
      queue.add(() => seen.push(label), { priority })
    const all = [
      add('low1', 'LOW'),
      add('med1', 'MEDIUM'),
      add('crit', 'CRITICAL'),
      add('low2', 'LOW'),
      add('high', 'HIGH'),
      add('n150', 150),
      add('med2', 'MEDIUM'),
    ]
    expect(queue.size).toBe(7)
    queue.resume()
    await Promise.all(all)
    expect(seen).toEqual(['crit', 'high', 'n150', 'med1', 'med2', 'low1', 'low2'])
    expect(Priority.CRITICAL).toBeLessThan(Priority.LOW)
  })

  it('property: the run order is a stable sort of the added tasks by priority', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.integer({ min: 0, max: 1000 }), { maxLength: 200 }),
        async (priorities) => {
          const queue = createTaskQueue({ concurrency: 1, autoStart: false })
          const order: number[] = []
          const done = priorities.map((priority, i) => queue.add(() => order.push(i), { priority }))
          queue.resume()
          await Promise.all(done)
          const expected = priorities
            .map((p, i) => ({ p, i }))
            .sort((a, b) => a.p - b.p || a.i - b.i)
            .map((x) => x.i)
          expect(order).toEqual(expected)
        },
      ),
      { numRuns: 100 },
    )
  })

  it('never runs more than `concurrency` tasks at once, and onIdle waits for all', async () => {
    const queue = createTaskQueue({ concurrency: 3 })
    let running = 0
    let peak = 0
    const gates = Array.from({ length: 10 }, deferred)
    const results = gates.map((gate, i) =>
      queue.add(async () => {
        running++
        peak = Math.max(peak, running)
        await gate.promise
        running--
        return i
      }),
    )
    expect(queue.pending).toBe(3)
    expect(queue.size).toBe(7)
    const sizeBelow5 = queue.onSizeLessThan(5)
    for (const gate of gates) gate.resolve()
    await sizeBelow5
    await queue.onIdle()
    expect(await Promise.all(results)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9])
    expect(peak).toBe(3)
    expect(queue.stats()).toMatchObject({ added: 10, completed: 10, failed: 0, size: 0, pending: 0 })
  })

  it('times a task out with E_TIMEOUT and aborts its signal (manual clock)', async () => {
    const clock = createManualClock()
    const queue = createTaskQueue({ concurrency: 1, clock })
    let signal: AbortSignal | undefined
    const slow = queue.add(
      (ctx) => {
        signal = ctx.signal
        return new Promise(() => {})
      },
      { timeout: 1000 },
    )
    const next = queue.add(() => 'next')
    const outcome = slow.catch((error: unknown) => error)
    clock.advance(999)
    expect(signal?.aborted).toBe(false)
    clock.advance(1)
    expect(await outcome).toMatchObject({ code: 'E_TIMEOUT' })
    expect(signal?.aborted).toBe(true)
    expect(await next).toBe('next')
    expect(queue.stats().timedOut).toBe(1)
    expect(clock.pending()).toBe(0)
  })

  it('removes a queued task whose signal aborts, and rejects with the reason', async () => {
    const queue = createTaskQueue({ concurrency: 1 })
    const gate = deferred()
    const first = queue.add(() => gate.promise)
    const controller = new AbortController()
    let ran = false
    const second = queue.add(
      () => {
        ran = true
      },
      { signal: controller.signal },
    )
    controller.abort(new Error('no longer needed'))
    await expect(second).rejects.toThrow('no longer needed')
    expect(queue.size).toBe(0)
    gate.resolve()
    await first
    await queue.onIdle()
    expect(ran).toBe(false)
    expect(queue.stats().cancelled).toBe(1)
  })

  it('rejects a task whose fn throws, and goes on', async () => {
    const queue = createTaskQueue({ concurrency: 1 })
    const bad = queue.add(() => {
      throw new Error('boom')
    })
    await expect(bad).rejects.toThrow('boom')
    expect(await queue.add(async () => 7)).toBe(7)
  })

  it('clear() rejects queued tasks with E_TASK_CLEARED; close() refuses new ones', async () => {
    const queue = createTaskQueue({ concurrency: 1, autoStart: false })
    const a = queue.add(() => 1)
    const b = queue.add(() => 2)
    queue.clear()
    await expect(a).rejects.toMatchObject({ code: 'E_TASK_CLEARED' })
    await expect(b).rejects.toMatchObject({ code: 'E_TASK_CLEARED' })
    queue.resume()
    await queue.close()
    await expect(queue.add(() => 3)).rejects.toBeInstanceOf(QueueClosedError)
  })

  it('pause() stops starting tasks until resume()', async () => {
    const queue = createTaskQueue({ concurrency: 2 })
    queue.pause()
    let ran = 0
    const all = [queue.add(() => ran++), queue.add(() => ran++)]
    await Promise.resolve()
    expect(ran).toBe(0)
    expect(queue.isPaused).toBe(true)
    queue.resume()
    await Promise.all(all)
    expect(ran).toBe(2)
  })

  it('rejects bad options and bad priorities with a message naming them', () => {
    expect(() => createTaskQueue({ concurrency: 0 })).toThrow(
      /createTaskQueue option "concurrency".*received 0/,
    )
    expect(() => createTaskQueue({ timeout: -1 })).toThrow(/"timeout"/)
    const queue = createTaskQueue()
    expect(() => queue.add(() => 1, { priority: 'URGENT' as never })).toThrow(/priority.*URGENT/)
    expect(() => queue.add(() => 1, { priority: 1001 })).toThrow(/1001/)
  })
})
