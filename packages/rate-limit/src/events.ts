import { createChannels } from '@headroom/core'
import type { StoreErrorMode } from './options.js'
import type { Decision } from './types.js'

/** Events of a rate limiter, for `limiter.on(event, fn)`. */
export interface RateLimiterEvents {
  [event: string]: unknown
  /** A call was refused. */
  limited: { key: string; decision: Decision }
  /** The store failed; `fallback` says how the call was decided instead. */
  storeError: { error: unknown; fallback: StoreErrorMode }
  /** `block(key, ms)` was called. */
  blocked: { key: string; ms: number }
}

/** `diagnostics_channel` channels: `headroom:rate-limit:decision`, `:limited`, `:store-error`. */
export const channels = createChannels<{
  decision: { key: string; decision: Decision }
  limited: { key: string; decision: Decision }
  'store-error': { error: unknown; fallback: StoreErrorMode }
}>('rate-limit', ['decision', 'limited', 'store-error'])
