// Job schedulers (repeatable jobs): a cron pattern (with a time zone) or a fixed interval
// that adds a job per slot. The schedule lives in the store; each slot's job has an id
// derived from the scheduler's id and the slot time, and the store adds a slot only if it
// is later than every slot scheduled before, so however many processes schedule, a slot
// runs once. The chain goes on without a timer: the worker that claims a slot's job adds
// the next slot (see worker.ts), and every upsert (e.g. each process at start) repairs it.
import {
  type Clock,
  createCallOptionsCheck,
  describeValue,
  type Logger,
  type OptionsSchemaMatch,
  parseOptions,
} from '@headroom/core'
import { CronExpressionParser } from 'cron-parser'
import { z } from 'zod'
import type { JobStore, NewJob } from '../store/job-store.js'
import { decodePayload, type JobSpec, withScheduler } from '../store/payload.js'
import type { AddJobOptions, JobScheduler, JobTemplate, RepeatOptions } from './queue-types.js'

/** What the store keeps as a scheduler's spec: the rule and the encoded job. */
interface Spec {
  pattern?: string
  tz?: string
  every?: number
  /** The encoded job payload (without a scheduler's id and spec). */
  job: string
}

const repeatSchema = z
  .object({
    pattern: z
      .string({ error: 'expected a cron expression' })
      .min(1, 'expected a cron expression')
      .optional(),
    tz: z.string({ error: 'expected an IANA time zone name' }).min(1).optional(),
    every: z.number({ error: 'expected an integer of ms >= 1' }).int().min(1).optional(),
  })
  .refine((o) => (o.pattern === undefined) !== (o.every === undefined), {
    message: 'expected exactly one of pattern (cron) or every (ms)',
  })
  .refine((o) => o.tz === undefined || o.pattern !== undefined, {
    message: 'tz applies to a cron pattern only',
    path: ['tz'],
  }) satisfies z.ZodType<RepeatOptions, RepeatOptions>

/** Compiles only while the schema and {@link RepeatOptions} list the same keys. */
true satisfies OptionsSchemaMatch<typeof repeatSchema, RepeatOptions>

/** The shape of a scheduler's job template (its `options` are checked as `add`'s are). */
const checkTemplate = createCallOptionsCheck('upsertJobScheduler template', {
  name: 'string',
  data: 'JSON value',
  options: '{ priority?, attempts?, timeout? }',
})

/** The first slot of `rule` strictly after `after` (ms). */
export function nextSlot(rule: RepeatOptions, after: number): number {
  if (rule.every !== undefined) return (Math.floor(after / rule.every) + 1) * rule.every
  return CronExpressionParser.parse(rule.pattern!, { currentDate: new Date(after), tz: rule.tz ?? 'UTC' })
    .next()
    .getTime()
}

export interface Repeats {
  upsert(id: string, repeat: RepeatOptions, template: JobTemplate): Promise<{ id: string; next: number }>
  list(): Promise<JobScheduler[]>
  remove(id: string): Promise<boolean>
  /** A worker claimed a scheduler's job (at store time `now`): schedules the next slot. */
  claimed(job: JobSpec, raw: string, now: number): void
}

export function createRepeats(deps: {
  store: JobStore
  clock: Clock
  logger: Logger
  prepare: (name: string, data: unknown, options: AddJobOptions | undefined) => NewJob
}): Repeats {
  const { store, clock, logger } = deps

  const checkId = (id: unknown) => {
    if (typeof id !== 'string' || id.length === 0)
      throw new TypeError(
        `Invalid job scheduler id: expected a non-empty string (received ${describeValue(id)})`,
      )
  }

  return {
    async upsert(id, repeat, template) {
      checkId(id)
      const rule = parseOptions('upsertJobScheduler', repeatSchema, repeat)
      let next: number
      try {
        next = nextSlot(rule, clock.now())
      } catch (error) {
        throw new TypeError(
          `Invalid job scheduler "${id}": ${rule.pattern !== undefined ? `cron pattern "${rule.pattern}"${rule.tz ? ` in time zone "${rule.tz}"` : ''}` : 'interval'} cannot be scheduled (${(error as Error).message})`,
        )
      }
      if (typeof template !== 'object' || template === null)
        throw new TypeError(
          `Invalid job scheduler "${id}" template: expected { name, data?, options? } (received ${describeValue(template)})`,
        )
      checkTemplate(template)
      const options = template.options as AddJobOptions | undefined
      if (options?.delay !== undefined || options?.jobId !== undefined)
        throw new TypeError(
          `Invalid job scheduler "${id}" template: options.delay and options.jobId come from the schedule; remove them`,
        )
      const job = deps.prepare(template.name, template.data, options)
      const spec: Spec = { ...rule, job: job.payload }
      const specJson = JSON.stringify(spec)
      const latest = await store.scheduleRepeat('upsert', {
        key: id,
        spec: specJson,
        at: next,
        payload: withScheduler(job.payload, id, specJson),
        priority: job.priority,
      })
      return { id, next: latest ?? next }
    },

    async list() {
      const stored = await store.listRepeats()
      return stored
        .map(({ key, spec, next }) => {
          const parsed = JSON.parse(spec) as Spec
          const job = decodePayload(parsed.job)
          const scheduler: JobScheduler = {
            id: key,
            name: job.name,
            data: job.data,
            priority: job.priority,
            next,
          }
          if (parsed.pattern !== undefined) scheduler.pattern = parsed.pattern
          if (parsed.tz !== undefined) scheduler.tz = parsed.tz
          if (parsed.every !== undefined) scheduler.every = parsed.every
          return scheduler
        })
        .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
    },

    remove(id) {
      checkId(id)
      return store.removeRepeat(id)
    },

    claimed(job, raw, now) {
      const id = job.schedulerId!
      let at: number
      try {
        at = nextSlot(JSON.parse(job.schedulerSpec!) as Spec, now)
      } catch (error) {
        // A cron with no later date (e.g. a fixed day in the past): the schedule ends here.
        logger.warn({ err: error, scheduler: id }, 'job scheduler has no next slot')
        return
      }
      store
        .scheduleRepeat('next', {
          key: id,
          spec: job.schedulerSpec!,
          at,
          payload: raw,
          priority: job.priority,
        })
        .catch((error: unknown) =>
          // The next claim of this job (a retry, a stall) or the next upsert schedules it again.
          logger.warn({ err: error, scheduler: id }, 'could not schedule the next slot of a job scheduler'),
        )
    },
  }
}
