import type { RedisClient } from '@headroom/core'
import { linkOf } from '../src/durable/queue.js'
import { createQueue, type Queue, type QueueOptions } from '../src/index.js'
import type { JobStore } from '../src/store/job-store.js'

/** The store behind a queue, for tests that play a worker by hand (claim, settle, extend). */
export function storeOf(queue: Queue): JobStore {
  return linkOf(queue, 'storeOf').store
}

/** Makes queues for one store (memory, or a Redis target) and obliterates them after each test. */
export function queueFactory(
  redis: () => RedisClient | undefined,
  prefix: () => string,
  defaults: Partial<QueueOptions> = {},
) {
  const made: Queue[] = []
  const lastPrefix = { value: '' }
  return {
    /** The prefix of the last queue made. */
    get lastPrefix() {
      return lastPrefix.value
    },
    make(options: Partial<QueueOptions> = {}): Queue {
      const client = redis()
      const queuePrefix = prefix()
      lastPrefix.value = queuePrefix
      const queue = createQueue({
        name: 'jobs',
        prefix: queuePrefix,
        ...(client ? { redis: client } : {}),
        // The product's 500 ms add timeout is for a healthy Redis in production. Here the first
        // add on a fresh Cluster client also pays connecting and slot discovery on a shared,
        // overloaded two-core machine, which has taken longer than 500 ms.
        addTimeoutMs: 5000,
        ...defaults,
        ...options,
      })
      made.push(queue)
      return queue
    },
    async cleanup() {
      for (const queue of made.splice(0)) {
        await queue.close()
        await queue.obliterate().catch(() => {})
      }
    },
  }
}

export function deferred<T = void>() {
  let resolve!: (value: T) => void
  const promise = new Promise<T>((r) => {
    resolve = r
  })
  return { promise, resolve }
}
