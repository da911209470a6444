import { createManualClock } from '@headroom/core'
import { describe, expect, it } from 'vitest'
import { createTaskQueue } from '../src/index.js'

/** Lets promise callbacks run (the manual clock fires timers synchronously). */
const flush = async () => {
  for (let i = 0; i < 5; i++) await Promise.resolve()
}

describe('createTaskQueue interval / intervalCap (p-queue rate limiting)', () => {
  it('starts at most intervalCap tasks per interval, the rest in later windows, in priority order', async () => {
    const clock = createManualClock()
    const queue = createTaskQueue({ interval: 1000, intervalCap: 2, clock })
    const started: string[] = []
    const task = (name: string) => () => {
      started.push(name)
      return name
    }
    const results = [
      queue.add(task('a')),
      queue.add(task('b')),
      queue.add(task('c')),
      queue.add(task('d'), { priority: 'LOW' }),
      queue.add(task('e'), { priority: 'HIGH' }),
    ]
    await flush()
    expect(started).toEqual(['a', 'b'])
    expect(queue.size).toBe(3)
    clock.advance(999)
    await flush()
    expect(started).toEqual(['a', 'b'])
    clock.advance(1)
    await flush()
    expect(started).toEqual(['a', 'b', 'e', 'c'])
    clock.advance(1000)
    await flush()
    expect(started).toEqual(['a', 'b', 'e', 'c', 'd'])
    expect(await Promise.all(results)).toEqual(['a', 'b', 'c', 'd', 'e'])
    await queue.onIdle()
    // No window is left armed once nothing waits.
    expect(clock.pending()).toBe(0)
  })

  it('counts tasks started, not finished: a long task does not hold the window', async () => {
    const clock = createManualClock()
    const queue = createTaskQueue({ interval: 100, intervalCap: 1, concurrency: 5, clock })
    let started = 0
    const never = () => {
      started++
      return new Promise(() => {})
    }
    for (let i = 0; i < 3; i++) void queue.add(never)
    await flush()
    expect(started).toBe(1)
    clock.advance(100)
    await flush()
    expect(started).toBe(2)
    clock.advance(100)
    await flush()
    expect(started).toBe(3)
    expect(queue.pending).toBe(3)
    queue.clear()
  })

  it('a new window opens when the first task after a quiet spell starts', async () => {
    const clock = createManualClock()
    const queue = createTaskQueue({ interval: 1000, intervalCap: 1, clock })
    expect(await queue.add(() => 1)).toBe(1)
    clock.advance(5000)
    // The window of the first task is long gone: this one starts at once.
    expect(await queue.add(() => 2)).toBe(2)
    let third = false
    void queue.add(() => {
      third = true
    })
    await flush()
    expect(third).toBe(false)
    clock.advance(1000)
    await flush()
    expect(third).toBe(true)
  })

  it('onEmpty, onSizeLessThan and onIdle follow the windows; an aborted waiting task never runs', async () => {
    const clock = createManualClock()
    const queue = createTaskQueue({ interval: 1000, intervalCap: 1, clock })
    const ran: number[] = []
    const controller = new AbortController()
    void queue.add(() => void ran.push(1))
    const aborted = queue.add(() => void ran.push(2), { signal: controller.signal })
    void queue.add(() => void ran.push(3))
    let empty = false
    let below2 = false
    let idle = false
    void queue.onEmpty().then(() => {
      empty = true
    })
    void queue.onSizeLessThan(2).then(() => {
      below2 = true
    })
    void queue.onIdle().then(() => {
      idle = true
    })
    await flush()
    expect([empty, below2, idle]).toEqual([false, false, false])
    controller.abort(new Error('not needed'))
    await expect(aborted).rejects.toThrow('not needed')
    await flush()
    expect([empty, below2, idle]).toEqual([false, true, false])
    clock.advance(1000)
    await flush()
    expect(ran).toEqual([1, 3])
    expect([empty, below2, idle]).toEqual([true, true, true])
  })

  it('close() clears a waiting window; pause() holds tasks past their window', async () => {
    const clock = createManualClock()
    const queue = createTaskQueue({ interval: 1000, intervalCap: 1, clock })
    const ran: number[] = []
    void queue.add(() => void ran.push(1))
    void queue.add(() => void ran.push(2))
    await flush()
    queue.pause()
    clock.advance(1000)
    await flush()
    expect(ran).toEqual([1])
    queue.resume()
    await flush()
    expect(ran).toEqual([1, 2])
    void queue.add(() => void ran.push(3)).catch(() => {})
    await queue.close()
    expect(clock.pending()).toBe(0)
  })

  it('refuses intervalCap without interval, and bad values, naming the option', () => {
    expect(() => createTaskQueue({ intervalCap: 5 })).toThrow(/interval/)
    expect(() => createTaskQueue({ interval: 1000 })).toThrow(/intervalCap/)
    expect(() => createTaskQueue({ interval: -1, intervalCap: 1 })).toThrow(/interval/)
    expect(() => createTaskQueue({ interval: 1000, intervalCap: 0 })).toThrow(/intervalCap/)
  })
})
