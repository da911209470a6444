/** Retry policy of a queue: exponential backoff with jitter (p-retry's semantics). */
export interface RetryOptions {
  /** Attempts in all (1 = no retry); a job's own `attempts` overrides it. @default 3 */
  attempts?: number
  /** Delay before the first retry, in ms. @default 1000 */
  minDelayMs?: number
  /** Growth of the delay per attempt. @default 2 */
  factor?: number
  /** Longest delay, in ms. @default 60000 */
  maxDelayMs?: number
  /** Multiply each delay by a random factor in [1, 2), so failed jobs do not retry in lockstep. @default true */
  randomize?: boolean
}

/** A retry policy with every field set: a queue's `retry` after its defaults are applied. */
export type ResolvedRetry = Required<RetryOptions>

/**
 * The delay before retry number `attempt` (1 for the first retry):
 * `min(maxDelayMs, minDelayMs * factor^(attempt-1) * (randomize ? 1 + random : 1))`.
 */
export function backoffDelay(
  retry: ResolvedRetry,
  attempt: number,
  random: () => number = Math.random,
): number {
  const jitter = retry.randomize ? 1 + random() : 1
  return Math.round(
    Math.min(retry.maxDelayMs, retry.minDelayMs * retry.factor ** Math.max(0, attempt - 1) * jitter),
  )
}
