import diagnosticsChannel from 'node:diagnostics_channel'
import { channelName, createChannels } from '@headroom/core'
import type { Decision } from './decision.js'
import type { StoreErrorMode } from './options.js'

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

/**
 * The `decision` channel itself. Every decision asks whether it has subscribers; Node's
 * own `hasSubscribers` is a plain read, where the wrapper's getter costs about a tenth
 * of a memory-store decision.
 */
export const decisionChannel = diagnosticsChannel.channel(channelName('rate-limit', 'decision'))
