import {
  type CommandTimeout,
  createCommandTimeout,
  createFailureGate,
  type FailureGate,
  hashTaggedKey,
  isRedisDown,
  type RedisClient,
  runScript,
  StoreUnavailableError,
} from '@headroom/core'
import { LEVEL_SCORE, Priority } from '../shared/priority.js'
import type {
  ClaimedJob,
  ClaimOptions,
  ClaimResult,
  JobStore,
  NewJob,
  Settlement,
  StoreConfig,
  StoreCounts,
} from '../store/job-store.js'
import { createRedisAdmin } from './admin.js'
import { createRedisEventReader } from './event-reader.js'
import { createRedisScheduling } from './scheduling.js'
import { addScript } from './scripts/add.js'
import { claimScript } from './scripts/claim.js'
import { extendScript } from './scripts/extend.js'
import { countsScript, getScript } from './scripts/inspect.js'
import { obliterateScript } from './scripts/obliterate.js'
import { progressScript } from './scripts/progress.js'

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
  // With events on, every script gets the stream as KEYS[9] and its MAXLEN as the last ARGV.
  const streamKey = `${tag}:events`
  const withStream = [...keys, streamKey]
  const eventsOn = config.eventsMaxLen > 0
  if (eventsOn) keys.push(streamKey)
  const addTimeout: CommandTimeout = createCommandTimeout(options.addTimeoutMs)
  const commandTimeout: CommandTimeout = createCommandTimeout(options.commandTimeoutMs)
  // Producers on a request path should fail fast while Redis is down rather than each wait out a timeout.
  const gate: FailureGate = createFailureGate()

  const run = <T>(timeout: CommandTimeout, script: typeof addScript, args: (string | number)[]) => {
    if (eventsOn) args.push(config.eventsMaxLen)
    return timeout.run(runScript<T>(redis, script, keys, args))
  }

  /** Acknowledges `settlements` and (unless count is -1) claims up to `count` jobs: one EVALSHA. */
  const step = async ({
    count,
    leaseMs,
    maxScore,
    settlements = [],
    woke = false,
  }: {
    count: number
    leaseMs: number
    /** '+inf', or '(<score>' under load shedding. */
    maxScore: string
    settlements?: readonly Settlement[] | undefined
    woke?: boolean | undefined
  }): Promise<[number, number, (string | number)[], string[], boolean[], number | undefined]> => {
    const args: (string | number)[] = [
      jobPrefix,
      count,
      leaseMs,
      maxScore,
      config.agingMs,
      config.maxStalls,
      config.completed.count,
      config.completed.ageMs,
      config.failed.count,
      config.failed.ageMs,
      0,
      config.limiter?.max ?? 0,
      config.limiter?.durationMs ?? 0,
      woke ? 1 : 0,
    ]
    // Completions without a result (most of them) travel as ids grouped by lease token;
    // `order` lists the settlements in the order the script answers them.
    const n = settlements.length
    let order: Settlement[] | undefined
    if (n > 0) {
      const plain = new Map<string, Settlement[]>()
      let other: Settlement[] | undefined
      for (let i = 0; i < n; i++) {
        const s = settlements[i]!
        if (s.outcome === 'completed' && s.result === undefined) {
          const group = plain.get(s.token)
          if (group) group.push(s)
          else plain.set(s.token, [s])
        } else {
          other ??= []
          other.push(s)
        }
      }
      order = plain.size === 1 && other === undefined ? (settlements as Settlement[]) : []
      args[10] = plain.size
      for (const [token, group] of plain) {
        args.push(token, group.length)
        for (const s of group) args.push(s.id)
        if (order !== settlements) order.push(...group)
      }
      if (other) {
        for (const s of other) {
          switch (s.outcome) {
            case 'completed':
              args.push(s.token, s.id, 'c', s.result ?? '', 0)
              break
            case 'retry':
              args.push(s.token, s.id, 'r', s.error, Math.round(s.delayMs))
              break
            case 'dead':
              args.push(s.token, s.id, 'd', s.error, 0)
              break
            case 'release':
              args.push(s.token, s.id, 'x', '', 0)
              break
          }
        }
        order.push(...other)
      }
    }
    const [now, token, flat, stalled, answers, wake] = await run<
      [number, number, (string | number)[], string[], number[], number | undefined]
    >(commandTimeout, claimScript, args)
    const accepted: boolean[] = new Array(n)
    if (order === settlements) for (let i = 0; i < n; i++) accepted[i] = answers[i] === 1
    else if (order) {
      // Back to the caller's order.
      const at = new Map<Settlement, number>()
      for (let i = 0; i < n; i++) at.set(settlements[i]!, i)
      for (let i = 0; i < n; i++) accepted[at.get(order[i]!)!] = answers[i] === 1
    }
    return [now, token, flat, stalled, accepted, wake === undefined || wake < 0 ? undefined : wake]
  }

  const addChunk = async (jobs: readonly NewJob[], timeout: CommandTimeout): Promise<string[]> => {
    const args: (string | number)[] = [jobPrefix, config.agingMs]
    for (const job of jobs) args.push(job.id, job.payload, job.priority, job.delayMs)
    return run<string[]>(timeout, addScript, args)
  }

  return {
    kind: 'redis',
    ...createRedisScheduling({
      redis,
      tag,
      jobPrefix,
      agingMs: config.agingMs,
      run: (script, args) => run(commandTimeout, script, args),
    }),
    async add(jobs, bulk = false) {
      if (!gate.allow())
        throw new StoreUnavailableError('Redis is unavailable (recent calls failed); job not added')
      // Not into the offline queue: an add left there still lands after the reconnect, long
      // after its timeout told the caller it was refused (a 503 whose events got in anyway).
      if (isRedisDown(redis)) {
        gate.failure()
        throw new StoreUnavailableError(`Redis connection is ${redis.status}; job not added`)
      }
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

    async claim({ count, leaseMs, maxPriority, settle, woke }: ClaimOptions): Promise<ClaimResult> {
      const maxScore = maxPriority === undefined ? '+inf' : `(${(maxPriority + 1) * LEVEL_SCORE}`
      const [now, lease, flat, stalled, settled, wakeInMs] = await step({
        count,
        leaseMs,
        maxScore,
        settlements: settle,
        woke,
      })
      // One fencing token for the whole batch (see scripts/preamble.ts).
      const token = String(lease)
      const jobs: ClaimedJob[] = new Array(flat.length / 4)
      for (let i = 0, k = 0; i < flat.length; i += 4, k++) {
        jobs[k] = {
          id: String(flat[i]),
          payload: String(flat[i + 1]),
          attempt: Number(flat[i + 2]) + 1,
          token,
          readyAt: Number(flat[i + 3]),
        }
      }
      if (wakeInMs !== undefined) return { now, jobs, stalled, settled, wakeInMs }
      return { now, jobs, stalled, settled }
    },

    async extend(leases, leaseMs) {
      if (leases.length === 0) return []
      const byToken = new Map<string, string[]>()
      for (const { id, token } of leases) {
        const ids = byToken.get(token)
        if (ids) ids.push(id)
        else byToken.set(token, [id])
      }
      const args: (string | number)[] = [jobPrefix, leaseMs]
      for (const [token, ids] of byToken) args.push(token, ids.length, ...ids)
      return run<string[]>(commandTimeout, extendScript, args)
    },

    async settle(settlements: readonly Settlement[]) {
      if (settlements.length === 0) return []
      return (await step({ count: -1, leaseMs: 0, maxScore: '+inf', settlements }))[4]
    },

    async getJob(id) {
      const found = await run<[string, string[]] | null>(commandTimeout, getScript, [jobPrefix, id])
      if (!found) return undefined
      const [state, flat] = found
      const fields: Record<string, string> = {}
      for (let i = 0; i < flat.length; i += 2) fields[flat[i]!] = flat[i + 1]!
      if (fields.p === undefined) return undefined
      // The hash counts attempts that ended without settling the job; a running or finished job adds its last one.
      const ended = Number(fields.a ?? 0)
      fields.a = String(state === 'a' || state === 'c' || state === 'f' ? ended + 1 : ended)
      fields.st = state
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

    async progress(id, token, value) {
      return (await run<number>(commandTimeout, progressScript, [jobPrefix, id, token, value])) === 1
    },

    openEvents() {
      return createRedisEventReader(redis, streamKey)
    },

    async obliterate() {
      for (;;) {
        // The stream goes too, even when this process records no events.
        const removed = await commandTimeout.run(
          runScript<number>(redis, obliterateScript, withStream, [jobPrefix, config.eventsMaxLen || 1]),
        )
        if (removed < 1000) return
      }
    },

    close() {
      addTimeout.close()
      commandTimeout.close()
    },

    // Operator verbs: scripts of their own, held to the worker timeout.
    admin: createRedisAdmin((script, args) => run(commandTimeout, script, args), jobPrefix, config.agingMs),
  }
}
