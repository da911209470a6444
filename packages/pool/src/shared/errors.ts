import { OverloadedError } from '@headroom/core'

/** Why a limiter refused work. */
export type RejectReason = 'queue-full' | 'timeout' | 'closed'

/**
 * The limiter refused work: its queue was full, or the work waited `maxWaitMs` without a
 * slot. Its code is `E_OVERLOADED` (it is an {@link OverloadedError}), so load-shedding
 * code that handles overload handles it too; `reason` and `partition` say which case.
 *
 * @example
 * try { await limiter.run(work) } catch (error) {
 *   if (error instanceof LimitExceededError) res.status(503).set('Retry-After', '1').end()
 * }
 */
export class LimitExceededError extends OverloadedError {
  readonly reason: Exclude<RejectReason, 'closed'>
  readonly partition: string

  constructor(reason: Exclude<RejectReason, 'closed'>, partition: string, detail: string) {
    super(`Concurrency limit exceeded (${reason}) for partition "${partition}": ${detail}`)
    this.name = 'LimitExceededError'
    this.reason = reason
    this.partition = partition
  }
}

/** True for a {@link LimitExceededError}, also across duplicated copies of the package. */
export function isLimitExceededError(error: unknown): error is LimitExceededError {
  return error instanceof Error && error.name === 'LimitExceededError' && 'reason' in error
}
