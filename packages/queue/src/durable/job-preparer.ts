// A job as `add` and `addBulk` hand it to the store: every option checked, and the job
// admitted by load shedding, before anything is written.
import { createCallOptionsCheck, describeValue } from '@headroom/core'
import { UnknownHandlerError } from '../shared/errors.js'
import { resolvePriority } from '../shared/priority.js'
import type { NewJob } from '../store/job-store.js'
import { encodePayload } from '../store/payload.js'
import type { ResolvedQueueOptions } from './queue-options.js'
import type { AddJobOptions } from './queue-types.js'
import { serializeData } from './serialize.js'

function invalid(option: string, expected: string, value: unknown): TypeError {
  return new TypeError(
    `Invalid job option "${option}": expected ${expected} (received ${describeValue(value)})`,
  )
}

const PRIORITY = "'CRITICAL' | 'HIGH' | 'MEDIUM' | 'LOW' | 0..1000"
/** The shape of `add`'s options; the values are checked below, with the queue's defaults at hand. */
const checkAddOptions = createCallOptionsCheck('add', {
  priority: PRIORITY,
  delay: 'ms >= 0',
  jobId: 'non-empty string',
  attempts: 'integer >= 1',
  timeout: 'ms >= 0',
})
/** The shape of one `addBulk` entry. */
export const checkBulkJob = createCallOptionsCheck('addBulk job', {
  name: 'string',
  data: 'JSON value',
  options: `{ priority?: ${PRIORITY}, delay?, jobId?, attempts?, timeout? }`,
})

/** `admit` throws when load shedding refuses a job (see createShedding). */
export function createJobPreparer(
  options: ResolvedQueueOptions,
  admit: (name: string, priority: number) => void,
) {
  const defaultPriority = options.defaultPriority
  const names = options.names ? new Set(options.names) : undefined

  /** Validates and encodes one job; throws before anything is written. */
  return (name: string, data: unknown, opts: AddJobOptions | undefined): NewJob => {
    if (typeof name !== 'string' || name.length === 0) throw invalid('name', 'a non-empty string', name)
    if (opts !== undefined) checkAddOptions(opts)
    if (names && !names.has(name)) {
      throw new UnknownHandlerError(
        `Queue "${options.name}" has no job named "${name}" (known: ${[...names].join(', ')})`,
      )
    }
    const priority =
      opts?.priority === undefined
        ? defaultPriority
        : resolvePriority(opts.priority, defaultPriority, 'job option "priority"')
    const delay = opts?.delay ?? 0
    if (typeof delay !== 'number' || !Number.isFinite(delay) || delay < 0) {
      throw invalid('delay', 'a finite number of ms >= 0', delay)
    }
    const attempts = opts?.attempts ?? options.retry.attempts
    if (!Number.isInteger(attempts) || attempts < 1) throw invalid('attempts', 'an integer >= 1', attempts)
    const timeout = opts?.timeout ?? options.timeoutMs
    if (typeof timeout !== 'number' || !Number.isFinite(timeout) || timeout < 0) {
      throw invalid('timeout', 'a finite number of ms >= 0', timeout)
    }
    const jobId = opts?.jobId ?? ''
    if (typeof jobId !== 'string' || (opts?.jobId !== undefined && jobId.length === 0)) {
      throw invalid('jobId', 'a non-empty string', opts?.jobId)
    }
    admit(name, priority)
    const payload = encodePayload({
      name,
      dataJson: serializeData(data, name),
      maxAttempts: attempts,
      timeoutMs: timeout,
      priority,
    })
    return { id: jobId, payload, priority, delayMs: Math.ceil(delay) }
  }
}
