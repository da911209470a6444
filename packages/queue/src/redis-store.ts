import {
  type CommandTimeout,
  createCommandTimeout,
  createFailureGate,
  type FailureGate,
  hashTaggedKey,
  type RedisClient,
  runScript,
  StoreUnavailableError,
} from '@headroom/core'
import type {
  ClaimedJob,
  ClaimOptions,
  ClaimResult,
  JobStore,
  NewJob,
  Settlement,
  StoreConfig,
  StoreCounts,
} from './job.js'
import { Priority } from './priority.js'
import {
  addScript,
  claimScript,
  countsScript,
  extendScript,
  obliterateScript,
  settleScript,
} from './redis-scripts.js'

const LEVEL_SCORE = 2 ** 40
/** Jobs per add script call: keeps each EVALSHA short so it never blocks Redis for long. */
const ADD_CHUNK = 1000
/** Chunks of one addBulk in flight at once. */
const BULK_LANES = 4

export interface RedisStoreOptions {
  redis: RedisClient
  prefix: string
  name: string
  config: StoreConfig
  /** Timeout of `add` calls (a request path). */
  addTimeoutMs: number
  /** Timeout of worker calls (claim, heartbeat, settle, counts). */
  commandTimeoutMs: number
}

/**
 * The Redis store: one queue's keys share the hash tag `{prefix:name}`, so every
 * script runs on one Cluster node, and every decision is one EVALSHA.
 */
export function createRedisStore(options: RedisStoreOptions): JobStore {
  const { redis, config } = options
  const tag = hashTaggedKey(options.prefix, options.name)
  const keys = ['wait', 'delayed', 'active', 'seq', 'fence', 'age', 'completed', 'failed'].map(
    (suffix) => `${tag}:${suffix}`,
  )
  const jobPrefix = `${tag}:j:`
  const addTimeout: CommandTimeout = createCommandTimeout(options.addTimeoutMs)
  const commandTimeout: CommandTimeout = createCommandTimeout(options.commandTimeoutMs)
  // Producers on a request path should fail fast while Redis is down rather than each wait out a timeout.
  const gate: FailureGate = createFailureGate()

  const run = <T>(timeout: CommandTimeout, script: typeof addScript, args: (string | number)[]) =>
    timeout.run(runScript<T>(redis, script, keys, args))

  const addChunk = async (jobs: readonly NewJob[], timeout: CommandTimeout): Promise<string[]> => {
    const args: (string | number)[] = [jobPrefix, config.agingMs]
    for (const job of jobs) args.push(job.id, job.payload, job.priority, job.delayMs)
    return run<string[]>(timeout, addScript, args)
  }

  return {
    kind: 'redis',
    async add(jobs, bulk = false) {
      if (!gate.allow())
        throw new StoreUnavailableError('Redis is unavailable (recent calls failed); job not added')
      try {
        let ids: string[]
        if (!bulk) ids = await addChunk(jobs, addTimeout)
        else {
          // A few chunks in flight: pipelined, yet each one's timeout is not eaten by the ones queued before it.
          const chunks: string[][] = []
          let next = 0
          const lane = async () => {
            while (next < jobs.length) {
              const at = next
              next += ADD_CHUNK
              chunks[at / ADD_CHUNK] = await addChunk(jobs.slice(at, at + ADD_CHUNK), commandTimeout)
            }
          }
          await Promise.all(
            Array.from({ length: Math.min(BULK_LANES, Math.ceil(jobs.length / ADD_CHUNK)) }, lane),
          )
          ids = chunks.flat()
        }
        gate.success()
        return ids
      } catch (error) {
        gate.failure()
        throw new StoreUnavailableError('Could not add the job(s) to Redis', { cause: error })
      }
    },

    async claim({ count, leaseMs, maxPriority }: ClaimOptions): Promise<ClaimResult> {
      const maxScore = maxPriority === undefined ? '+inf' : `(${(maxPriority + 1) * LEVEL_SCORE}`
      const [now, flat, stalled] = await run<[number, (string | number)[], string[]]>(
        commandTimeout,
        claimScript,
        [
          jobPrefix,
          count,
          leaseMs,
          maxScore,
          config.agingMs,
          config.maxStalls,
          config.failed.count,
          config.failed.ageMs,
        ],
      )
      const jobs: ClaimedJob[] = []
      for (let i = 0; i < flat.length; i += 5) {
        jobs.push({
          id: String(flat[i]),
          payload: String(flat[i + 1]),
          attempt: Number(flat[i + 2]),
          token: String(flat[i + 3]),
          readyAt: Number(flat[i + 4]),
        })
      }
      return { now: Number(now), jobs, stalled }
    },

    async extend(leases, leaseMs) {
      if (leases.length === 0) return []
      const args: (string | number)[] = [jobPrefix, leaseMs]
      for (const lease of leases) args.push(lease.id, lease.token)
      return run<string[]>(commandTimeout, extendScript, args)
    },

    async settle(settlements: readonly Settlement[]) {
      if (settlements.length === 0) return []
      const args: (string | number)[] = [
        jobPrefix,
        config.completed.count,
        config.completed.ageMs,
        config.failed.count,
        config.failed.ageMs,
        config.agingMs,
      ]
      for (const s of settlements) {
        switch (s.outcome) {
          case 'completed':
            args.push(s.id, s.token, 'c', s.result ?? '', 0)
            break
          case 'retry':
            args.push(s.id, s.token, 'r', s.error, Math.round(s.delayMs))
            break
          case 'dead':
            args.push(s.id, s.token, 'd', s.error, 0)
            break
          case 'release':
            args.push(s.id, s.token, 'x', '', 0)
            break
        }
      }
      const result = await run<number[]>(commandTimeout, settleScript, args)
      return result.map((ok) => ok === 1)
    },

    async getJob(id) {
      const fields = (await commandTimeout.run(redis.hgetall(jobPrefix + id))) as Record<string, string>
      if (!fields || fields.p === undefined) return undefined
      return { payload: fields.p, fields }
    },

    async counts(): Promise<StoreCounts> {
      const out = await run<number[]>(commandTimeout, countsScript, [
        jobPrefix,
        Priority.HIGH * LEVEL_SCORE,
        Priority.MEDIUM * LEVEL_SCORE,
        Priority.LOW * LEVEL_SCORE,
      ])
      const [now, critical, high, medium, low, delayed, active, completed, failed, oldest] = out.map(Number)
      return {
        now: now!,
        waiting: { critical: critical!, high: high!, medium: medium!, low: low! },
        delayed: delayed!,
        active: active!,
        completed: completed!,
        failed: failed!,
        oldestReadyAt: oldest! < 0 ? undefined : oldest,
      }
    },

    async obliterate() {
      for (;;) {
        const removed = await run<number>(commandTimeout, obliterateScript, [jobPrefix])
        if (removed < 1000) return
      }
    },

    close() {
      addTimeout.close()
      commandTimeout.close()
    },
  }
}
