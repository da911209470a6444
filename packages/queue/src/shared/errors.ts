import { defineError } from '@headroom/core'

/** A job named a handler no worker registered, or a name the queue's `names` list does not allow. */
export const UnknownHandlerError = defineError('E_UNKNOWN_HANDLER', 'No handler is registered for this job')
/**
 * A worker lost the lease of a job (it expired, or another worker now holds it):
 * its completion is refused (fencing) and the job's signal is aborted with this error.
 */
export const LeaseLostError = defineError('E_LEASE_LOST', 'The job lease was lost')
/**
 * Thrown by a handler to fail a job at once, without retries: it goes straight to
 * the dead-letter state.
 *
 * @example
 * if (!user) throw new UnrecoverableError(`user ${id} does not exist`)
 */
export const UnrecoverableError = defineError('E_UNRECOVERABLE', 'The job cannot succeed')

/** A queued task was dropped by `clear()` before it ran. */
export const TaskClearedError = defineError('E_TASK_CLEARED', 'The task was cleared before it ran')

/**
 * `add` was refused because Redis may evict the queue's keys (its maxmemory-policy is
 * not `noeviction`) and the queue was created with `evictionPolicy: 'refuse'`.
 */
export const EvictionPolicyError = defineError(
  'E_EVICTION_POLICY',
  'Redis may evict keys (maxmemory-policy is not noeviction); the queue refuses to write jobs there',
)

/**
 * `queue.remove(id)` was refused because a worker holds the job's lease: removing it would
 * let the worker's settlement land on nothing. Wait for it to settle, then remove it.
 */
export const JobActiveError = defineError(
  'E_JOB_ACTIVE',
  'The job is active (a worker holds its lease); remove it once it has settled',
)
/** A job awaited with `waitUntilFinished` failed for good; its stored error is the `cause`. */
export const JobFailedError = defineError('E_JOB_FAILED', 'The job failed')

/** `waitUntilFinished` was given the id of a job that does not exist (never added, or removed by retention). */
export const JobNotFoundError = defineError('E_JOB_NOT_FOUND', 'No job has this id')

/** The error classes `@headroom/queue` defines, by code. */
export const queueErrors = {
  E_UNKNOWN_HANDLER: UnknownHandlerError,
  E_LEASE_LOST: LeaseLostError,
  E_UNRECOVERABLE: UnrecoverableError,
  E_TASK_CLEARED: TaskClearedError,
  E_EVICTION_POLICY: EvictionPolicyError,
  E_JOB_ACTIVE: JobActiveError,
  E_JOB_FAILED: JobFailedError,
  E_JOB_NOT_FOUND: JobNotFoundError,
} as const
