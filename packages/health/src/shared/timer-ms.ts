// Node fires a timer whose delay exceeds 2^31 - 1 ms at once (after printing a warning),
// so every option that becomes a timer delay is bounded by it: a larger value would do
// the opposite of what it asks.
import { z } from 'zod'

/** The longest delay `setTimeout` honours, ms (about 24.8 days). */
export const MAX_TIMER_MS = 2_147_483_647

/** A timer delay option: an integer number of ms from `min` to {@link MAX_TIMER_MS}. */
export const timerMs = (min = 0) => z.number().int().min(min).max(MAX_TIMER_MS)
