// createWorker's arguments (options and handlers), validated once at construction so a
// mistake fails there, naming the option or handler, rather than when a job runs.
import { createCallOptionsCheck, type OptionsSchemaMatch, parseOptions } from '@headroom/core'
import { z } from 'zod'
import type { JobHandler } from './worker-types.js'

/** Options of {@link createWorker}. */
export interface WorkerOptions {
  /** Jobs run at once by this worker. @default 1 */
  concurrency?: number
  /**
   * Most jobs leased in one round trip (each round trip also acknowledges the jobs
   * finished since the last one). A worker keeps up to two calls in flight, so slots
   * that free up while a claim is out are filled by the next one.
   * @default concurrency (capped at 1000)
   */
  batchSize?: number
  /**
   * Longest an idle worker waits before claiming again, in ms. It claims sooner when woken:
   * on Redis it blocks on the queue's marker (pushed by adds, hand-backs and `resume()`),
   * and it wakes when the next delayed job is due, a lease expires or the rate limit frees
   * a slot; this bound only matters if a wake-up is lost (e.g. a Redis failover).
   * @default 5000
   */
  pollIntervalMs?: number
  /** Default time `close()` waits for running jobs before handing them back, in ms. @default 10000 */
  closeTimeoutMs?: number
}

/** {@link WorkerOptions} after the schema, every default applied. */
export interface ResolvedWorkerOptions {
  concurrency: number
  batchSize: number
  pollIntervalMs: number
  closeTimeoutMs: number
}

const MAX_BATCH = 1000

const workerOptionsSchema = z
  .object({
    concurrency: z
      .number({ error: 'expected an integer from 1 to 10000' })
      .int()
      .min(1)
      .max(10_000)
      .default(1),
    batchSize: z
      .number({ error: `expected an integer from 1 to ${MAX_BATCH}` })
      .int()
      .min(1)
      .max(MAX_BATCH)
      .optional(),
    pollIntervalMs: z.number({ error: 'expected a positive number of ms' }).positive().finite().default(5000),
    closeTimeoutMs: z.number({ error: 'expected a number of ms >= 0' }).min(0).finite().default(10_000),
  })
  .transform(({ batchSize, ...o }) => ({
    ...o,
    batchSize: batchSize ?? Math.min(o.concurrency, MAX_BATCH),
  })) satisfies z.ZodType<ResolvedWorkerOptions, WorkerOptions>

/** Compiles only while the schema and {@link WorkerOptions} list the same keys. */
true satisfies OptionsSchemaMatch<typeof workerOptionsSchema, WorkerOptions>

/** The shape of `worker.close()`'s options (the timeout's value is checked where it is used). */
export const checkCloseOptions = createCallOptionsCheck('close', { timeout: 'number' })

/** Checks `handlers` (an object of job name -> function) and returns the options with their defaults. */
export function parseWorkerArguments(
  handlers: Record<string, JobHandler>,
  input: WorkerOptions,
): ResolvedWorkerOptions {
  if (typeof handlers !== 'object' || handlers === null) {
    throw new TypeError('Invalid createWorker handlers: expected an object of job name -> function')
  }
  for (const [name, handler] of Object.entries(handlers)) {
    if (typeof handler !== 'function') {
      throw new TypeError(
        `Invalid createWorker handler "${name}": expected a function (received ${typeof handler})`,
      )
    }
  }
  return parseOptions('createWorker', workerOptionsSchema, input)
}
