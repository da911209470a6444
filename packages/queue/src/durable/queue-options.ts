import {
  type Clock,
  type Logger,
  type OptionsSchemaMatch,
  type RedisClient,
  systemClock,
} from '@headroom/core'
import { z } from 'zod'
import { type PriorityInput, resolvePriority } from '../shared/priority.js'
import type { RetentionRule } from '../store/job-store.js'
import type { ResolvedRetry, RetryOptions } from './backoff.js'
import type { EvictionPolicyMode } from './eviction-policy.js'

/** A health status, as `@headroom/health` reports it. */
export type HealthStatus = 'healthy' | 'degraded' | 'critical'

/** Load shedding: what happens to low-priority work while the service is `critical`. */
export interface SheddingOptions {
  /** Returns the current health status (e.g. `() => monitor.status`). Called on each add and claim: keep it cheap. */
  status: () => HealthStatus
  /**
   * `wait`: jobs below `minPriority` stay queued and workers claim only more urgent work;
   * `refuse`: `add` also rejects them with `E_OVERLOADED`. @default 'wait'
   */
  mode?: 'wait' | 'refuse'
  /** The least urgent priority still served under `critical`. @default 'HIGH' (so MEDIUM and LOW wait) */
  minPriority?: PriorityInput
}

/** Options of {@link createQueue}. */
export interface QueueOptions {
  /** The queue's name; with `prefix` it makes the hash tag `{prefix:name}` of every key. */
  name: string
  /** ioredis client or Cluster; without it jobs live in this process (memory store). @default undefined */
  redis?: RedisClient
  /** Key prefix in Redis. @default 'hq' */
  prefix?: string
  /** Retry policy. @default { attempts: 3, minDelayMs: 1000, factor: 2, maxDelayMs: 60000, randomize: true } */
  retry?: RetryOptions
  /** Lease of a claimed job: a job whose worker died runs again after about this long. @default 5000 */
  leaseMs?: number
  /** How often workers renew their leases, in ms. @default Math.floor(leaseMs / 3) */
  heartbeatMs?: number
  /** Default per-attempt timeout of a job in ms (its signal aborts, the attempt fails). @default 0 (none) */
  timeoutMs?: number
  /** Finished jobs kept. @default { completed: { count: 1000, ageMs: 1 day }, failed: { count: 10000, ageMs: 7 days } } */
  retention?: { completed?: RetentionRule; failed?: RetentionRule }
  /** Jobs that have waited this long are claimed first, whatever their priority (0: strict priority). @default 0 */
  agingMs?: number
  /** Lease expiries after which a job is dead-lettered instead of run again. @default 5 */
  maxStalls?: number
  /** Job names `add` accepts (unknown names are refused before anything is written). @default undefined (any) */
  names?: readonly string[]
  /** Priority of jobs added without one. @default 'MEDIUM' */
  defaultPriority?: PriorityInput
  /** Load shedding under a `critical` health status. @default undefined (off) */
  shedding?: SheddingOptions
  /** Timeout of `add`/`addBulk` Redis calls, in ms. @default 500 */
  addTimeoutMs?: number
  /** Timeout of worker Redis calls (claim, heartbeat, settle) and `stats()`, in ms. @default 5000 */
  commandTimeoutMs?: number
  /**
   * What to do when Redis may evict the queue's keys (`maxmemory-policy` other than
   * `noeviction`, checked on every master when the client connects): `warn` logs a warning
   * and emits `eviction-policy`; `refuse` also makes `add`, `addBulk` and `ready()` reject
   * with `E_EVICTION_POLICY`; `ignore` checks nothing.
   * @default 'warn'
   */
  evictionPolicy?: EvictionPolicyMode
  /**
   * Record the queue's events (added, active, progress, completed, failed, retrying,
   * stalled) for `createQueueEvents` subscribers in any process: on Redis a Stream
   * written by the same scripts that make each change, keeping about `maxLen` entries
   * (a late subscriber catches up from within them). Turn it on in every process that
   * adds or runs the queue's jobs. Costs Redis work on every job (see the README).
   * @default false (`true` and `{}`: { maxLen: 10000 })
   */
  events?: boolean | { maxLen?: number }
  /**
   * Rate limit of the whole queue: at most `max` jobs start per `durationMs` (a sliding
   * window) across every worker and process, enforced inside the claim (Redis' clock).
   * @default undefined (no limit)
   */
  limiter?: { max: number; durationMs: number }
  /** Time source (the memory store's clock; workers' timers). @default systemClock */
  clock?: Clock
  /** pino-compatible logger. @default silent */
  logger?: Logger
}

/** `createQueue`'s options after the schema: every default applied, priorities as numbers. */
export interface ResolvedQueueOptions {
  name: string
  redis?: RedisClient | undefined
  prefix: string
  retry: ResolvedRetry
  leaseMs: number
  heartbeatMs: number
  timeoutMs: number
  retention: { completed: Required<RetentionRule>; failed: Required<RetentionRule> }
  agingMs: number
  maxStalls: number
  names?: readonly string[] | undefined
  defaultPriority: number
  shedding?: { status: () => HealthStatus; mode: 'wait' | 'refuse'; minPriority: number } | undefined
  addTimeoutMs: number
  commandTimeoutMs: number
  evictionPolicy: EvictionPolicyMode
  /** Entries the event stream keeps; 0: the queue records no events. */
  events: number
  limiter?: { max: number; durationMs: number } | undefined
  clock: Clock
  logger?: Logger | undefined
}

/** A level name or 0..1000, resolved to the number the stores use. */
const priority = z
  .union([z.enum(['CRITICAL', 'HIGH', 'MEDIUM', 'LOW']), z.number().int().min(0).max(1000)], {
    error: 'expected CRITICAL, HIGH, MEDIUM, LOW or an integer from 0 to 1000',
  })
  .transform((input) => resolvePriority(input, 0))
const positiveMs = z.number({ error: 'expected a positive number of ms' }).positive().finite()
const count = z.number({ error: 'expected an integer >= 0' }).int().min(0)
const ageMs = z.number({ error: 'expected a number of ms >= 0' }).min(0).finite()
const EVENTS_MAX_LEN = 10_000
const eventsMaxLen = z.number({ error: 'expected an integer >= 100' }).int().min(100).default(EVENTS_MAX_LEN)

export const queueOptionsSchema = z
  .object({
    name: z
      .string({ error: 'expected a non-empty string' })
      .min(1, 'expected a non-empty string')
      .regex(/^[^{}]+$/, 'may not contain "{" or "}"'),
    redis: z
      .custom<RedisClient>((v) => typeof v === 'object' && v !== null, 'expected an ioredis client')
      .optional(),
    prefix: z
      .string({ error: 'expected a non-empty string' })
      .min(1, 'expected a non-empty string')
      .regex(/^[^{}]+$/, 'may not contain "{" or "}"')
      .default('hq'),
    retry: z
      .object({
        attempts: z.number({ error: 'expected an integer >= 1' }).int().min(1).default(3),
        minDelayMs: z.number({ error: 'expected a number of ms >= 0' }).min(0).finite().default(1000),
        factor: z.number({ error: 'expected a number >= 1' }).min(1).finite().default(2),
        maxDelayMs: z.number({ error: 'expected a number of ms >= 0' }).min(0).finite().default(60_000),
        randomize: z.boolean().default(true),
      })
      .prefault({}),
    leaseMs: z.number({ error: 'expected an integer of ms >= 100' }).int().min(100).default(5000),
    heartbeatMs: positiveMs.optional(),
    timeoutMs: z.number({ error: 'expected a number of ms >= 0' }).min(0).finite().default(0),
    retention: z
      .object({
        completed: z.object({ count: count.default(1000), ageMs: ageMs.default(86_400_000) }).prefault({}),
        failed: z.object({ count: count.default(10_000), ageMs: ageMs.default(604_800_000) }).prefault({}),
      })
      .prefault({}),
    agingMs: z.number({ error: 'expected a number of ms >= 0' }).min(0).finite().default(0),
    maxStalls: z.number({ error: 'expected an integer >= 0' }).int().min(0).default(5),
    names: z.array(z.string().min(1)).readonly().optional(),
    defaultPriority: priority.prefault('MEDIUM'),
    shedding: z
      .object({
        status: z.custom<() => HealthStatus>((v) => typeof v === 'function', 'expected a function'),
        mode: z.enum(['wait', 'refuse']).default('wait'),
        minPriority: priority.prefault('HIGH'),
      })
      .optional(),
    addTimeoutMs: positiveMs.default(500),
    commandTimeoutMs: positiveMs.default(5000),
    evictionPolicy: z
      .enum(['warn', 'refuse', 'ignore'], { error: "expected 'warn', 'refuse' or 'ignore'" })
      .default('warn'),
    events: z
      .union([
        z.boolean().transform((on) => (on ? EVENTS_MAX_LEN : 0)),
        z.object({ maxLen: eventsMaxLen }).transform((o) => o.maxLen),
      ])
      .prefault(false),
    limiter: z
      .object(
        {
          max: z.number({ error: 'expected an integer >= 1' }).int().min(1),
          durationMs: z.number({ error: 'expected an integer of ms >= 1' }).int().min(1),
        },
        { error: 'expected { max, durationMs }' },
      )
      .strict()
      .optional(),
    clock: z
      .custom<Clock>((v) => typeof v === 'object' && v !== null && 'now' in v, 'expected a Clock')
      .default(systemClock),
    logger: z.custom<Logger>((v) => typeof v === 'object' && v !== null, 'expected a logger').optional(),
  })
  .refine((o) => o.heartbeatMs === undefined || o.heartbeatMs < o.leaseMs, {
    message: 'heartbeatMs must be shorter than leaseMs',
    path: ['heartbeatMs'],
  })
  .transform(({ heartbeatMs, ...o }) => ({
    ...o,
    heartbeatMs: heartbeatMs ?? Math.floor(o.leaseMs / 3),
  })) satisfies z.ZodType<ResolvedQueueOptions, QueueOptions>

/** Compiles only while the schema and {@link QueueOptions} list the same keys. */
true satisfies OptionsSchemaMatch<typeof queueOptionsSchema, QueueOptions>
