import { afterEach, describe, expect, it } from 'vitest'
import { createQueue, createTaskQueue, createWorker, type Queue } from '../src/index.js'

describe('options: unknown keys and per-call shapes', () => {
  const queues: Queue[] = []
  afterEach(async () => {
    for (const queue of queues.splice(0)) await queue.close()
  })
  const memoryQueue = () => {
    const queue = createQueue({ name: 'options' })
    queues.push(queue)
    return queue
  }

  it('createQueue, createWorker and createTaskQueue refuse unknown keys, suggesting the known one', () => {
    expect(() => createQueue({ name: 'q', leaseMS: 2000 } as never)).toThrow(
      'Invalid createQueue option "leaseMS": unknown option; did you mean "leaseMs"?',
    )
    expect(() => createQueue({ name: 'q', retry: { attempt: 5 } } as never)).toThrow(
      'Invalid createQueue option "retry.attempt": unknown option; did you mean "attempts"?',
    )
    expect(() => createWorker(memoryQueue(), { job: async () => {} }, { concurency: 4 } as never)).toThrow(
      'Invalid createWorker option "concurency": unknown option; did you mean "concurrency"?',
    )
    expect(() => createTaskQueue({ concurency: 4 } as never)).toThrow(
      'Invalid createTaskQueue option "concurency": unknown option; did you mean "concurrency"?',
    )
  })

  it('add refuses options that are not an object, naming the shape, and writes nothing', async () => {
    const queue = memoryQueue()
    await expect(queue.add('job', {}, 3600 as never)).rejects.toThrow(
      /^Invalid add options: expected undefined or \{ priority\?: .*, delay\?: .*, jobId\?: .*, attempts\?: .*, timeout\?: .* \} \(received 3600\)$/,
    )
    expect((await queue.stats()).added).toBe(0)
  })

  it('add refuses an unknown key, suggesting the known one', async () => {
    const queue = memoryQueue()
    await expect(queue.add('job', {}, { priorty: 'HIGH' } as never)).rejects.toThrow(
      'Invalid add option "priorty": unknown option; did you mean "priority"?',
    )
    await expect(queue.add('job', {}, { delayMs: 100 } as never)).rejects.toThrow(
      'Invalid add option "delayMs": unknown option; did you mean "delay"?',
    )
    const waiting = (await queue.stats()).waiting
    expect(waiting.high + waiting.medium).toBe(0)
  })

  it('addBulk refuses an unknown key in a job or in its options before writing any job', async () => {
    const queue = memoryQueue()
    await expect(
      queue.addBulk([{ name: 'job', data: 1 }, { name: 'job', data: 2, opts: { priority: 'LOW' } } as never]),
    ).rejects.toThrow('Invalid addBulk job option "opts": unknown option; did you mean "options"?')
    await expect(queue.addBulk([{ name: 'job', data: 2, options: { atempts: 2 } as never }])).rejects.toThrow(
      'Invalid add option "atempts": unknown option; did you mean "attempts"?',
    )
    expect((await queue.stats()).added).toBe(0)
  })

  it("the task queue's add refuses a non-object and unknown keys", async () => {
    const tasks = createTaskQueue()
    let ran = 0
    await expect(tasks.add(() => ran++, 5 as never)).rejects.toThrow(
      /^Invalid add options: expected undefined or \{/,
    )
    await expect(tasks.add(() => ran++, { timout: 5 } as never)).rejects.toThrow(
      'Invalid add option "timout": unknown option; did you mean "timeout"?',
    )
    await tasks.onIdle()
    expect(ran).toBe(0)
  })

  it("worker.close and a job scheduler's template refuse unknown keys", async () => {
    const queue = memoryQueue()
    const worker = createWorker(queue, { job: async () => {} })
    await expect(worker.close({ timout: 10 } as never)).rejects.toThrow(
      'Invalid close option "timout": unknown option; did you mean "timeout"?',
    )
    await expect(worker.close({ timeout: -1 })).rejects.toThrow('Invalid close option "timeout"')
    await worker.close()
    await expect(
      queue.upsertJobScheduler('s', { every: 1000 }, { name: 'job', opts: { priority: 'LOW' } } as never),
    ).rejects.toThrow(
      'Invalid upsertJobScheduler template option "opts": unknown option; did you mean "options"?',
    )
    expect(await queue.getJobSchedulers()).toEqual([])
  })

  it('defaults come from the schema: heartbeat a third of the lease, batch size the concurrency', async () => {
    const queue = createQueue({ name: 'defaults', leaseMs: 3_000, retention: { failed: { count: 5 } } })
    queues.push(queue)
    const { DurableQueue } = await import('../src/durable/queue.js')
    const { options } = (queue as InstanceType<typeof DurableQueue>).link()
    expect(options).toMatchObject({
      heartbeatMs: 1_000,
      defaultPriority: 200,
      events: 0,
      retention: { completed: { count: 1000, ageMs: 86_400_000 }, failed: { count: 5, ageMs: 604_800_000 } },
    })
  })
})
