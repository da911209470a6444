import { describeRedis, waitUntil } from '@headroom/testing'
import { describe, expect, it } from 'vitest'
import { createQueue, createWorker } from '../src/index.js'
import { schedulingContract } from './scheduling-contract.js'

describe('scheduling [memory store]', () => {
  schedulingContract(
    () => undefined,
    () => 'mem',
  )
})

describeRedis('scheduling', (target) => {
  let client: ReturnType<typeof target.client> | undefined
  schedulingContract(
    () => {
      client ??= target.client()
      return client
    },
    () => target.prefix('sched'),
  )
})

describeRedis('idle worker on a client with a command timeout', (target) => {
  it('still blocks and is woken by an add (the blocking pop is exempt from commandTimeout)', async () => {
    const redis = target.client({ commandTimeout: 300 })
    const queue = createQueue({ name: 'ct', prefix: target.prefix('sched-ct'), redis, addTimeoutMs: 5_000 })
    const ran: number[] = []
    const worker = createWorker(queue, { job: () => void ran.push(Date.now()) }, { pollIntervalMs: 60_000 })
    // Longer than the command timeout: a pop cut short by it would leave the worker on a timer.
    await new Promise((resolve) => setTimeout(resolve, 800))
    const added = Date.now()
    await queue.add('job', {})
    await waitUntil(() => ran.length === 1, { what: 'job run', timeoutMs: 5_000 })
    expect(ran[0]! - added).toBeLessThan(5_000)
    expect(worker.stats().claimErrors).toBe(0)
    await worker.close()
    await queue.obliterate()
    await queue.close()
  })
})
