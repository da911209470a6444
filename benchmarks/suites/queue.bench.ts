import { createQueue, createQueueEvents, createTaskQueue, createWorker, type Priority } from '@headroom/queue'
import { Queue as BullQueue, QueueEvents as BullQueueEvents, Worker as BullWorker } from 'bullmq'
import { Redis, type RedisOptions } from 'ioredis'
import PQueue from 'p-queue'
import { type BenchGroup, defineSuite, type Measurement } from '../src/suite.js'

const DEEP = 200_000
const SHALLOW = 10_000
const JOBS = 20_000
const CONCURRENCY = 100
/** The per-queue rate limit in the events row: above what one worker reaches, so it never waits. */
const RATE_LIMIT_MAX = 1_000_000
const LEVELS = ['CRITICAL', 'HIGH', 'MEDIUM', 'LOW'] as const satisfies readonly (keyof typeof Priority)[]

/** Random-looking but fixed priorities, generated before timing. */
function priorities(n: number): number[] {
  const out: number[] = []
  let x = 12345
  for (let i = 0; i < n; i++) {
    // xorshift32; an LCG's low bits would just cycle 0, 1, 2, 3.
    x ^= x << 13
    x ^= x >>> 17
    x ^= x << 5
    out.push((x >>> 0) % 4)
  }
  return out
}

const noop = async () => {}

/** Fills a paused queue with `n` prioritised tasks, then runs them all: every task's promise is awaited. */
async function headroomTasks(levels: number[], repeat = 1): Promise<Measurement> {
  const started = performance.now()
  for (let r = 0; r < repeat; r++) {
    const queue = createTaskQueue({ concurrency: CONCURRENCY, autoStart: false })
    const done: Promise<void>[] = new Array(levels.length)
    for (let i = 0; i < levels.length; i++) done[i] = queue.add(noop, { priority: LEVELS[levels[i]!] })
    queue.resume()
    await Promise.all(done)
    const stats = queue.stats()
    if (stats.completed !== levels.length)
      throw new Error(`headroom ran ${stats.completed} of ${levels.length} tasks`)
  }
  return { ops: levels.length * repeat, ms: performance.now() - started }
}

// `new Promise(captureResolve)` hands over its resolve function without a closure per task.
let capturedResolve: (() => void) | undefined
const captureResolve = (resolve: () => void) => {
  capturedResolve = resolve
}

/**
 * Reference, not a contender: the least any priority queue that returns a promise per
 * add can do on this workload. Four plain arrays (one per level, FIFO), a promise per
 * task, 100 slots that each run the next task and resolve its promise; no timestamps or
 * stats, no options, no cancellation, no validation. Its throughput bounds what a queue
 * can reach here: the cost left is the promises and the garbage collector.
 */
async function bareLoop(levels: number[], repeat = 1): Promise<Measurement> {
  let ran = 0
  const task = async () => {
    ran++
  }
  const started = performance.now()
  for (let r = 0; r < repeat; r++) {
    const fns: (() => Promise<void>)[][] = [[], [], [], []]
    const resolves: ((() => void) | undefined)[][] = [[], [], [], []]
    const heads = [0, 0, 0, 0]
    const done: Promise<void>[] = new Array(levels.length)
    for (let i = 0; i < levels.length; i++) {
      const level = levels[i]!
      done[i] = new Promise<void>(captureResolve)
      fns[level]!.push(task)
      resolves[level]!.push(capturedResolve)
    }
    capturedResolve = undefined
    interface Slot {
      resolve: (() => void) | undefined
      done: () => void
    }
    const next = (slot: Slot) => {
      for (let level = 0; level < 4; level++) {
        const head = heads[level]!
        if (head === fns[level]!.length) continue
        heads[level] = head + 1
        const fn = fns[level]![head]!
        slot.resolve = resolves[level]![head]
        resolves[level]![head] = undefined
        fn().then(slot.done, slot.done)
        return
      }
    }
    for (let i = 0; i < CONCURRENCY; i++) {
      const slot: Slot = { resolve: undefined, done: () => {} }
      slot.done = () => {
        slot.resolve!()
        next(slot)
      }
      next(slot)
    }
    await Promise.all(done)
  }
  const ms = performance.now() - started
  if (ran !== levels.length * repeat)
    throw new Error(`the bare loop ran ${ran} of ${levels.length * repeat} tasks`)
  return { ops: levels.length * repeat, ms }
}

async function pQueueTasks(levels: number[]): Promise<Measurement> {
  const queue = new PQueue({ concurrency: CONCURRENCY, autoStart: false })
  let ran = 0
  const task = async () => {
    ran++
  }
  const started = performance.now()
  const done: Promise<void>[] = new Array(levels.length)
  // p-queue runs higher numbers first: CRITICAL (0) -> 3.
  for (let i = 0; i < levels.length; i++) done[i] = queue.add(task, { priority: 3 - levels[i]! })
  queue.start()
  await Promise.all(done)
  const ms = performance.now() - started
  if (ran !== levels.length) throw new Error(`p-queue ran ${ran} of ${levels.length} tasks`)
  return { ops: levels.length, ms }
}

let round = 0
const clients: Redis[] = []
const redisClient = (options: RedisOptions = {}) => {
  const client = new Redis({ host: '127.0.0.1', port: 6379, ...options })
  clients.push(client)
  return client
}

export default defineSuite({
  name: 'queue',
  requires: ['redis'],
  setup(): BenchGroup[] {
    const deep = priorities(DEEP)
    const shallow = priorities(SHALLOW)
    const jobLevels = priorities(JOBS)
    const ours = redisClient({ enableAutoPipelining: true })
    const bullConnection = redisClient({ maxRetriesPerRequest: null })
    const bullWorkerConnection = () => redisClient({ maxRetriesPerRequest: null })
    const prefix = `bench:${process.pid}`

    const headroomAdd = async (): Promise<Measurement> => {
      const queue = createQueue({ name: `add${round++}`, prefix, redis: ours })
      const jobs = jobLevels.map((level, i) => ({
        name: 'noop',
        data: { i },
        options: { priority: LEVELS[level] },
      }))
      const started = performance.now()
      const ids = await queue.addBulk(jobs)
      const ms = performance.now() - started
      const stats = await queue.stats()
      const waiting = Object.values(stats.waiting).reduce((a, b) => a + b, 0)
      if (ids.length !== JOBS || waiting !== JOBS)
        throw new Error(`headroom stored ${waiting} of ${JOBS} jobs`)
      await queue.obliterate()
      await queue.close()
      return { ops: JOBS, ms }
    }

    const bullAdd = async (): Promise<Measurement> => {
      const queue = new BullQueue(`add${round++}`, { connection: bullConnection, prefix })
      const jobs = jobLevels.map((level, i) => ({
        name: 'noop',
        data: { i },
        opts: { priority: level + 1, removeOnComplete: 1000 },
      }))
      const started = performance.now()
      const added = await queue.addBulk(jobs)
      const ms = performance.now() - started
      const counts = await queue.getJobCounts('prioritized', 'waiting')
      const stored = (counts.prioritized ?? 0) + (counts.waiting ?? 0)
      if (added.length !== JOBS || stored !== JOBS) throw new Error(`BullMQ stored ${stored} of ${JOBS} jobs`)
      await queue.obliterate({ force: true })
      await queue.close()
      return { ops: JOBS, ms }
    }

    /** Resolves `done` on the `n`th `tick`: the clock of the processing rows stops there. */
    const countTo = (n: number) => {
      let count = 0
      let finished!: () => void
      const done = new Promise<void>((resolve) => {
        finished = resolve
      })
      return {
        done,
        tick: () => {
          if (++count === n) finished()
        },
      }
    }

    const headroomProcess = async (): Promise<Measurement> => {
      const queue = createQueue({ name: `proc${round++}`, prefix, redis: ours })
      await queue.addBulk(
        jobLevels.map((level, i) => ({ name: 'noop', data: { i }, options: { priority: LEVELS[level] } })),
      )
      const completions = countTo(JOBS)
      // Counted on acknowledgement: a job is done once Redis recorded its completion.
      queue.on('completed', completions.tick)
      const started = performance.now()
      const worker = createWorker(queue, { noop }, { concurrency: CONCURRENCY })
      await completions.done
      const ms = performance.now() - started
      await worker.close()
      const stats = await queue.stats()
      if (stats.processed !== JOBS) throw new Error(`headroom processed ${stats.processed} of ${JOBS} jobs`)
      await queue.obliterate()
      await queue.close()
      return { ops: JOBS, ms }
    }

    const bullProcess = async (): Promise<Measurement> => {
      const name = `proc${round++}`
      const queue = new BullQueue(name, { connection: bullConnection, prefix })
      await queue.addBulk(
        jobLevels.map((level, i) => ({
          name: 'noop',
          data: { i },
          opts: { priority: level + 1, removeOnComplete: 1000 },
        })),
      )
      const completions = countTo(JOBS)
      const connection = bullWorkerConnection()
      const started = performance.now()
      const worker = new BullWorker(name, noop, { connection, prefix, concurrency: CONCURRENCY })
      worker.on('completed', completions.tick)
      await completions.done
      const ms = performance.now() - started
      await worker.close()
      const counts = await queue.getJobCounts('completed', 'prioritized', 'waiting', 'active')
      if ((counts.prioritized ?? 0) + (counts.waiting ?? 0) + (counts.active ?? 0) !== 0) {
        throw new Error(`BullMQ left jobs behind: ${JSON.stringify(counts)}`)
      }
      await queue.obliterate({ force: true })
      await queue.close()
      connection.disconnect()
      return { ops: JOBS, ms }
    }

    /**
     * As headroomProcess, with events and the per-queue rate limit on: the clock stops when a
     * subscriber has read every completion. The limit is set above what one worker reaches,
     * so the row shows what keeping it costs, not the limit itself.
     */
    const headroomProcessEvents = async (): Promise<Measurement> => {
      const queue = createQueue({
        name: `proc${round++}`,
        prefix,
        redis: ours,
        events: true,
        limiter: { max: RATE_LIMIT_MAX, durationMs: 1_000 },
      })
      const events = createQueueEvents(queue)
      await events.ready()
      await queue.addBulk(
        jobLevels.map((level, i) => ({ name: 'noop', data: { i }, options: { priority: LEVELS[level] } })),
      )
      const completions = countTo(JOBS)
      events.on('completed', completions.tick)
      const started = performance.now()
      const worker = createWorker(queue, { noop }, { concurrency: CONCURRENCY })
      await completions.done
      const ms = performance.now() - started
      await worker.close()
      await events.close()
      const stats = await queue.stats()
      if (stats.processed !== JOBS) throw new Error(`headroom processed ${stats.processed} of ${JOBS} jobs`)
      await queue.obliterate()
      await queue.close()
      return { ops: JOBS, ms }
    }

    /** As bullProcess, with the same rate limit, counting completions with a QueueEvents listener (BullMQ's cross-process events). */
    const bullProcessEvents = async (): Promise<Measurement> => {
      const name = `proc${round++}`
      const queue = new BullQueue(name, { connection: bullConnection, prefix })
      const eventsConnection = bullWorkerConnection()
      const events = new BullQueueEvents(name, { connection: eventsConnection, prefix })
      await events.waitUntilReady()
      await queue.addBulk(
        jobLevels.map((level, i) => ({
          name: 'noop',
          data: { i },
          opts: { priority: level + 1, removeOnComplete: 1000 },
        })),
      )
      const completions = countTo(JOBS)
      events.on('completed', completions.tick)
      const connection = bullWorkerConnection()
      const started = performance.now()
      const worker = new BullWorker(name, noop, {
        connection,
        prefix,
        concurrency: CONCURRENCY,
        limiter: { max: RATE_LIMIT_MAX, duration: 1_000 },
      })
      await completions.done
      const ms = performance.now() - started
      await worker.close()
      await events.close()
      const counts = await queue.getJobCounts('completed', 'prioritized', 'waiting', 'active')
      if ((counts.prioritized ?? 0) + (counts.waiting ?? 0) + (counts.active ?? 0) !== 0) {
        throw new Error(`BullMQ left jobs behind: ${JSON.stringify(counts)}`)
      }
      await queue.obliterate({ force: true })
      await queue.close()
      connection.disconnect()
      eventsConnection.disconnect()
      return { ops: JOBS, ms }
    }

    return [
      {
        name: `in-process priority queue: ${DEEP / 1000} k prioritised no-op tasks, concurrency ${CONCURRENCY}`,
        baseline: 'p-queue (priorities)',
        tasks: {
          '@headroom/queue createTaskQueue': { measure: () => headroomTasks(deep) },
          'p-queue (priorities)': { measure: () => pQueueTasks(deep) },
          'reference: bare promise + array loop': { measure: () => bareLoop(deep) },
        },
        targets: [{ task: '@headroom/queue createTaskQueue', atLeast: 50 }],
        notes: [
          'Fill a paused queue with 200 k tasks at 4 priorities, then run them all; every promise awaited.',
          'The reference row is no queue: a promise per task and four arrays, the floor of this workload (no target).',
        ],
      },
      {
        name: 'in-process priority queue: depth 200 k vs 10 k (cost per task must not grow with depth)',
        baseline: `depth ${SHALLOW / 1000} k`,
        tasks: {
          // 20 fills of 10 k: the same 200 k tasks (and garbage) as one fill of 200 k; only the depth differs.
          [`depth ${SHALLOW / 1000} k`]: { measure: () => headroomTasks(shallow, DEEP / SHALLOW) },
          [`depth ${DEEP / 1000} k`]: { measure: () => headroomTasks(deep) },
        },
        // "No more than 1.5x slower at 200 k than at 10 k".
        targets: [{ task: `depth ${DEEP / 1000} k`, atLeast: 1 / 1.5 }],
        notes: ['Both run 200 k tasks per round: 20 fills at depth 10 k, or one fill at depth 200 k.'],
      },
      {
        name: 'reference: bare promise + array loop, depth 200 k vs 10 k (the floor of the workload, no queue)',
        baseline: `bare loop, depth ${SHALLOW / 1000} k`,
        tasks: {
          [`bare loop, depth ${SHALLOW / 1000} k`]: { measure: () => bareLoop(shallow, DEEP / SHALLOW) },
          [`bare loop, depth ${DEEP / 1000} k`]: { measure: () => bareLoop(deep) },
        },
        notes: [
          'No target: how much slower 200 k live promises make even the least possible work (garbage collection).',
        ],
      },
      {
        name: `Redis bulk add: ${JOBS / 1000} k prioritised jobs`,
        baseline: 'BullMQ addBulk',
        tasks: {
          '@headroom/queue addBulk': { measure: headroomAdd },
          'BullMQ addBulk': { measure: bullAdd },
        },
        targets: [{ task: '@headroom/queue addBulk', atLeast: 3 }],
      },
      {
        name: `Redis processing: ${JOBS / 1000} k prioritised no-op jobs, concurrency ${CONCURRENCY}, one worker`,
        baseline: 'BullMQ Worker',
        tasks: {
          '@headroom/queue createWorker': { measure: headroomProcess },
          'BullMQ Worker': { measure: bullProcess },
        },
        targets: [{ task: '@headroom/queue createWorker', atLeast: 3 }],
        notes: [
          'Jobs added before timing; the clock stops when the last completion is acknowledged by Redis.',
        ],
      },
      {
        name: `Redis processing with events and a rate limit: ${JOBS / 1000} k prioritised no-op jobs, concurrency ${CONCURRENCY}, one worker, one events subscriber`,
        baseline: 'BullMQ Worker (limiter) + QueueEvents',
        tasks: {
          '@headroom/queue createWorker, events + limiter on, createQueueEvents': {
            measure: headroomProcessEvents,
          },
          'BullMQ Worker (limiter) + QueueEvents': { measure: bullProcessEvents },
        },
        targets: [
          { task: '@headroom/queue createWorker, events + limiter on, createQueueEvents', atLeast: 3 },
        ],
        notes: [
          'Jobs added before timing; the clock stops when the events subscriber (its own connection, XREAD BLOCK) has read the last completion.',
          'The cost of events and the limit is this row against the processing row above (both off); BullMQ always writes its event stream.',
          `Both limits are ${RATE_LIMIT_MAX.toLocaleString('en')} jobs a second, above what one worker reaches: the row measures keeping the limit, not waiting for it.`,
        ],
      },
    ]
  },
  async teardown() {
    for (const client of clients.splice(0)) client.disconnect()
  },
})
