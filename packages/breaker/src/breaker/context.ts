// The seam between a registry and the breakers it builds: what they share instead of
// making one of each per breaker.
import type { BreakerHub } from '../shared/hub-types.js'
import type { Ticker } from './ticker.js'

/** What a registry hands to the breakers it makes: one ticker and one hub for all. */
export interface BreakerContext {
  ticker?: Ticker
  hub?: BreakerHub
  /** Fleet-wide name under `hub` (the registry key). */
  sharedName?: string
  name?: string
}
