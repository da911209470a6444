/**
 * Named priority levels. Lower numbers run first (like BullMQ and Unix `nice`);
 * any integer from 0 to {@link MAX_PRIORITY} is accepted too, so a caller can
 * slot work between two levels.
 */
export const Priority = {
  CRITICAL: 0,
  HIGH: 100,
  MEDIUM: 200,
  LOW: 300,
} as const

/** A level name (`'HIGH'`) or a number from 0 (first) to {@link MAX_PRIORITY} (last). */
export type PriorityInput = keyof typeof Priority | number

/** The largest numeric priority: scores in Redis keep 2^40 sequence numbers per level exact. */
export const MAX_PRIORITY = 1000

/** Wait scores are priority * LEVEL_SCORE + sequence, in Redis and in the memory store alike. */
export const LEVEL_SCORE = 2 ** 40

/** The named level a numeric priority falls in (for depth per priority in `stats()`). */
export type PriorityLevel = 'critical' | 'high' | 'medium' | 'low'

export function levelOf(priority: number): PriorityLevel {
  if (priority < Priority.HIGH) return 'critical'
  if (priority < Priority.MEDIUM) return 'high'
  if (priority < Priority.LOW) return 'medium'
  return 'low'
}

/**
 * Turns a level name or a number into the numeric priority, or throws a `TypeError`
 * naming the option and the value.
 */
export function resolvePriority(
  input: PriorityInput | undefined,
  fallback: number,
  option = 'priority',
): number {
  if (input === undefined) return fallback
  // The level names first, compared directly: this runs on every add.
  switch (input) {
    case 'CRITICAL':
      return Priority.CRITICAL
    case 'HIGH':
      return Priority.HIGH
    case 'MEDIUM':
      return Priority.MEDIUM
    case 'LOW':
      return Priority.LOW
  }
  if (typeof input === 'number') {
    if (Number.isInteger(input) && input >= 0 && input <= MAX_PRIORITY) return input
  }
  throw new TypeError(
    `Invalid ${option}: expected CRITICAL, HIGH, MEDIUM, LOW or an integer from 0 to ${MAX_PRIORITY} (received ${JSON.stringify(input) ?? String(input)})`,
  )
}
