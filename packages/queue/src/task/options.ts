// createTaskQueue's options, validated once at construction, and the checks of the values
// that may change later (a task's timeout, the concurrency setter).
import {
  type Clock,
  createCallOptionsCheck,
  type Logger,
  type OptionsSchemaMatch,
  systemClock,
} from '@headroom/core'
import { z } from 'zod'
import { resolvePriority } from '../shared/priority.js'

/** Options of {@link createTaskQueue}. */
export interface TaskQueueOptions {
  /** Tasks that may run at once. @default Infinity */
  concurrency?: number
  /** Start running tasks as soon as they are added (otherwise wait for `resume()`). @default true */
  autoStart?: boolean
  /** Default per-task timeout in ms; a task past it rejects with `E_TIMEOUT` and its signal aborts. @default undefined (none) */
  timeout?: number
  /** Default priority of a task. @default 'MEDIUM' */
  defaultPriority?: 'CRITICAL' | 'HIGH' | 'MEDIUM' | 'LOW' | number
  /**
   * Rate limit, with `intervalCap`: at most `intervalCap` tasks start in each window of
   * `interval` ms (a window opens when the first task after the last one closed starts),
   * as p-queue's option of that name. @default undefined (no rate limit)
   */
  interval?: number
  /** Tasks started per `interval` window (needs `interval`). @default undefined (no rate limit) */
  intervalCap?: number
  /** Time source for timeouts and wait/run times. @default systemClock */
  clock?: Clock
  /** pino-compatible logger. @default silent */
  logger?: Logger
}

/** {@link TaskQueueOptions} after the schema: defaults applied, the priority a number. */
export interface ResolvedTaskQueueOptions {
  concurrency: number
  autoStart: boolean
  timeout?: number | undefined
  defaultPriority: number
  interval?: number | undefined
  intervalCap?: number | undefined
  clock: Clock
  logger?: Logger | undefined
}

export const taskQueueOptionsSchema = z
  .object({
    concurrency: z
      .union([z.number().int().min(1), z.literal(Number.POSITIVE_INFINITY)], {
        error: 'expected an integer >= 1 or Infinity',
      })
      .default(Number.POSITIVE_INFINITY),
    autoStart: z.boolean().default(true),
    timeout: z.number({ error: 'expected a positive number of ms' }).positive().finite().optional(),
    defaultPriority: z
      .union([z.enum(['CRITICAL', 'HIGH', 'MEDIUM', 'LOW']), z.number().int().min(0).max(1000)], {
        error: 'expected CRITICAL, HIGH, MEDIUM, LOW or an integer from 0 to 1000',
      })
      .transform((input) => resolvePriority(input, 0))
      .prefault('MEDIUM'),
    interval: z.number({ error: 'expected a positive number of ms' }).positive().finite().optional(),
    intervalCap: z.number({ error: 'expected an integer >= 1' }).int().min(1).optional(),
    clock: z.custom<Clock>((v) => typeof v === 'object' && v !== null && 'now' in v).default(systemClock),
    logger: z.custom<Logger>((v) => typeof v === 'object' && v !== null).optional(),
  })
  .refine((o) => o.intervalCap === undefined || o.interval !== undefined, {
    message: 'intervalCap needs interval (the window, in ms, it counts task starts in)',
    path: ['intervalCap'],
  })
  .refine((o) => o.interval === undefined || o.intervalCap !== undefined, {
    message: 'interval needs intervalCap (how many tasks may start in each window)',
    path: ['interval'],
  }) satisfies z.ZodType<ResolvedTaskQueueOptions, TaskQueueOptions>

/** Compiles only while the schema and {@link TaskQueueOptions} list the same keys. */
true satisfies OptionsSchemaMatch<typeof taskQueueOptionsSchema, TaskQueueOptions>

/** The shape of `add`'s options (a hot path: no zod); the values are checked where they are used. */
export const checkAddTaskOptions = createCallOptionsCheck('add', {
  priority: "'CRITICAL' | 'HIGH' | 'MEDIUM' | 'LOW' | 0..1000",
  signal: 'AbortSignal',
  timeout: 'number',
})

/** The error of an `add` whose timeout is not a positive number of ms. */
export function invalidTimeout(timeout: number): TypeError {
  return new TypeError(`Invalid timeout: expected a positive number of ms (received ${timeout})`)
}

/** Throws unless `value` is a concurrency the `concurrency` setter accepts. */
export function checkConcurrency(value: number): void {
  if (!(Number.isInteger(value) && value >= 1) && value !== Number.POSITIVE_INFINITY) {
    throw new TypeError(`Invalid concurrency: expected an integer >= 1 or Infinity (received ${value})`)
  }
}
