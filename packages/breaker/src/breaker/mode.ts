import type { BreakerState } from './types.js'

// The breaker's modes, read per call by its closure and on state changes by its state
// machine and fleet sync. Numeric modes keep the closed-path test a single integer comparison.
export const CLOSED = 0
export const OPEN = 1
export const HALF_OPEN = 2
export const SHUT = 3
export type Mode = typeof CLOSED | typeof OPEN | typeof HALF_OPEN | typeof SHUT
/** The modes a transition may lead to (`SHUT` is reached only by `close()`). */
export type LiveMode = typeof CLOSED | typeof OPEN | typeof HALF_OPEN
export const STATE_NAMES: readonly BreakerState[] = ['closed', 'open', 'half-open']
