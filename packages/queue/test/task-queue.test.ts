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

  it('keeps priority order and FIFO across many tasks, adds while running, and refills after draining', async () => {
    const queue = createTaskQueue({ concurrency: 7, autoStart: false })
    const order: number[] = []
    const levels = [0, 100, 200, 300, 150]
    const expected: { p: number; i: number }[] = []
    const done: Promise<number>[] = []
    // 5,000 tasks: lanes grow through several chunks.
    for (let i = 0; i < 5000; i++) {
      const priority = levels[(i * 7919) % levels.length]!
      expected.push({ p: priority, i })
      done.push(
        queue.add(
          async () => {
            order.push(i)
            return i
          },
          { priority },
        ),
      )
    }
    expect(queue.size).toBe(5000)
    queue.resume()
    expect(await Promise.all(done)).toEqual(done.map((_, i) => i))
    // Seven run at once, so the completion order may interleave; the start order is exact.
    expect(order).toEqual(expected.sort((a, b) => a.p - b.p || a.i - b.i).map((x) => x.i))

    // Drained lanes are reused: a second round keeps the same guarantees.
    queue.pause()
    const second: number[] = []
    const again = [3, 1, 2, 0].flatMap((p) =>
      Array.from({ length: 300 }, (_, k) => queue.add(() => second.push(p * 1000 + k), { priority: p })),
    )
    queue.resume()
    await Promise.all(again)
    const sorted = [...second].sort((a, b) => a - b)
    expect(second).toEqual(sorted)
    expect(queue.stats()).toMatchObject({ added: 6200, completed: 6200, size: 0, pending: 0 })
  })

  it('settles with sync values, adopts thenables, and rejects async failures and non-functions', async () => {
    const queue = createTaskQueue({ concurrency: 2 })
    // A PromiseLike that is not a native promise: adopted like one.
    const thenable: PromiseLike<string> = {
      // biome-ignore lint/suspicious/noThenProperty: a thenable on purpose
      then: ((resolve: (v: string) => void) => resolve('from thenable')) as PromiseLike<string>['then'],
    }
    const results = await Promise.allSettled([
      queue.add(() => 'sync'),
      queue.add(() => thenable),
      queue.add(async () => {
        throw new Error('async boom')
      }),
      queue.add(() => Promise.reject(new Error('rejected'))),
      queue.add(42 as never),
      queue.add(async () => 'after'),
    ])
    expect(results.map((r) => (r.status === 'fulfilled' ? r.value : (r.reason as Error).message))).toEqual([
      'sync',
      'from thenable',
      'async boom',
      'rejected',
      expect.stringMatching(/not a function/),
      'after',
    ])
    expect(queue.stats()).toMatchObject({ completed: 3, failed: 3, pending: 0, size: 0 })
  })

  it('runs a long run of synchronously throwing tasks without growing the stack', async () => {
    const queue = createTaskQueue({ concurrency: 1, autoStart: false })
    const all = Array.from({ length: 20_000 }, (_, i) =>
      queue.add(() => {
        throw new Error(`bad ${i}`)
      }),
    )
    queue.resume()
    const settled = await Promise.allSettled(all)
    expect(settled.every((r) => r.status === 'rejected')).toBe(true)
    expect(queue.stats()).toMatchObject({ failed: 20_000, pending: 0 })
  })

  it('a timed-out task frees its place at once; its late result is ignored', async () => {
    const clock = createManualClock()
    const queue = createTaskQueue({ concurrency: 1, clock })
    const late = deferred()
    let running = 0
    let peak = 0
    const track = async (gate: Promise<void>) => {
      running++
      peak = Math.max(peak, running)
      await gate
      running--
    }
    const slow = queue.add(() => track(late.promise), { timeout: 100 }).catch((error: unknown) => error)
    const second = deferred()
    const next = queue.add(() => track(second.promise).then(() => 'second'))
    const third = queue.add(() => 'third')
    clock.advance(100)
    expect(await slow).toMatchObject({ code: 'E_TIMEOUT' })
    // The timed-out fn still runs: the queue started the next task in its place.
    expect(queue.pending).toBe(1)
    late.resolve()
    await new Promise((resolve) => setImmediate(resolve))
    expect(queue.pending).toBe(1)
    expect(queue.size).toBe(1)
    second.resolve()
    expect(await next).toBe('second')
    expect(await third).toBe('third')
    await queue.onIdle()
    expect(queue.stats()).toMatchObject({ completed: 2, failed: 1, timedOut: 1, pending: 0 })
    expect(peak).toBe(2)
    expect(clock.pending()).toBe(0)
  })

  it("forwards the caller's abort to a running task's own signal when it has a timeout", async () => {
    const clock = createManualClock()
    const queue = createTaskQueue({ clock })
    const controller = new AbortController()
    let seen: AbortSignal | undefined
    const task = queue.add(
      ({ signal }) => {
        seen = signal
        return new Promise((_, reject) => signal?.addEventListener('abort', () => reject(signal.reason)))
      },
      { signal: controller.signal, timeout: 1000 },
    )
    expect(seen).toBeDefined()
    expect(seen).not.toBe(controller.signal)
    controller.abort(new Error('stop'))
    await expect(task).rejects.toThrow('stop')
    expect(queue.stats()).toMatchObject({ failed: 1, timedOut: 0, cancelled: 0 })
    expect(clock.pending()).toBe(0)
  })

  it("hands a running task the caller's signal when it has no timeout; the fn decides what an abort means", async () => {
    const queue = createTaskQueue()
    const controller = new AbortController()
    const gate = deferred()
    let seen: AbortSignal | undefined
    const task = queue.add(
      async ({ signal }) => {
        seen = signal
        await gate.promise
        return signal?.aborted
      },
      { signal: controller.signal },
    )
    expect(seen).toBe(controller.signal)
    controller.abort()
    gate.resolve()
    expect(await task).toBe(true)
    expect(queue.stats()).toMatchObject({ completed: 1, cancelled: 0 })
  })

  it('clear() detaches from signals, so a later abort changes nothing', async () => {
    const queue = createTaskQueue({ autoStart: false })
    const controller = new AbortController()
    const task = queue.add(() => 1, { signal: controller.signal }).catch((error: unknown) => error)
    queue.clear()
    controller.abort()
    expect(await task).toMatchObject({ code: 'E_TASK_CLEARED' })
    expect(queue.stats()).toMatchObject({ cancelled: 1, size: 0 })
  })

  it('skips a task cancelled while queued and keeps the rest in order', async () => {
    const queue = createTaskQueue({ concurrency: 1, autoStart: false })
    const seen: string[] = []
    const controller = new AbortController()
    const a = queue.add(() => seen.push('a'))
    const b = queue.add(() => seen.push('b'), { signal: controller.signal }).catch(() => 'b cancelled')
    const c = queue.add(() => seen.push('c'))
    controller.abort()
    expect(queue.size).toBe(2)
    queue.resume()
    await Promise.all([a, c])
    expect(await b).toBe('b cancelled')
    expect(seen).toEqual(['a', 'c'])
  })

  it('onSizeLessThan and onEmpty resolve as the queue shrinks; idle is emitted when all is done', async () => {
    const queue = createTaskQueue({ concurrency: 1 })
    const gates = Array.from({ length: 4 }, deferred)
    const idle: number[] = []
    const completed: { waitMs: number; runMs: number }[] = []
    queue.on('idle', () => idle.push(queue.stats().completed))
    queue.on('completed', (payload) => completed.push(payload))
    const tasks = gates.map((gate) => queue.add(() => gate.promise))
    let belowTwo = false
    let empty = false
    void queue.onSizeLessThan(2).then(() => {
      belowTwo = true
    })
    void queue.onEmpty().then(() => {
      empty = true
    })
    gates[0]!.resolve()
    await tasks[0]
    await Promise.resolve()
    expect([belowTwo, empty]).toEqual([false, false])
    gates[1]!.resolve()
    await tasks[1]
    await Promise.resolve()
    expect([belowTwo, empty]).toEqual([true, false])
    gates[2]!.resolve()
    await tasks[2]
    await Promise.resolve()
    expect(empty).toBe(true)
    expect(idle).toEqual([])
    gates[3]!.resolve()
    await queue.onIdle()
    expect(idle).toEqual([4])
    expect(completed).toHaveLength(4)
    expect(queue.stats().waitTime.count).toBe(4)
    expect(queue.stats().runTime.count).toBe(4)
  })

  it('records wait and run times on the clock', async () => {
    const clock = createManualClock()
    const queue = createTaskQueue({ concurrency: 1, clock })
    const gate = deferred()
    const first = queue.add(() => gate.promise)
    const second = queue.add(() => 'x')
    clock.advance(50)
    gate.resolve()
    await first
    await second
    const { waitTime, runTime } = queue.stats()
    expect(waitTime).toMatchObject({ count: 2, min: 0, max: 50 })
    expect(runTime.max).toBe(50)
  })

  it('raising concurrency starts queued tasks at once; Infinity runs everything together', async () => {
    const queue = createTaskQueue({ concurrency: 1 })
    const gates = Array.from({ length: 5 }, deferred)
    const tasks = gates.map((gate) => queue.add(() => gate.promise))
    expect(queue.pending).toBe(1)
    queue.concurrency = 3
    expect(queue.pending).toBe(3)
    queue.concurrency = Number.POSITIVE_INFINITY
    expect(queue.pending).toBe(5)
    expect(() => {
      queue.concurrency = 0
    }).toThrow(/concurrency/)
    for (const gate of gates) gate.resolve()
    await Promise.all(tasks)
    expect(queue.pending).toBe(0)
  })

  it('close() waits for running tasks and rejects queued ones', async () => {
    const queue = createTaskQueue({ concurrency: 1 })
    const gate = deferred()
    let finished = false
    const running = queue.add(async () => {
      await gate.promise
      finished = true
    })
    const queued = queue.add(() => 'never').catch((error: unknown) => error)
    const closing = queue.close()
    expect(await queued).toMatchObject({ code: 'E_TASK_CLEARED' })
    gate.resolve()
    await closing
    expect(finished).toBe(true)
    await running
  })
})
