// How the cache tells the outside what happened: its typed events, the same messages on
// diagnostics_channel for tracers, the log lines, and the counters that go with them.

import {
  createChannels,
  createEmitter,
  type Emitter,
  type FailureGateState,
  type Logger,
} from '@headroom/core'
import type { Counters } from './counters.js'
import type { CacheEvents, StaleReason } from './types.js'

const channelEvents = [
  'miss',
  'stale',
  'factory-error',
  'store-error',
  'invalidated',
  'recovery-queued',
  'recovery-replayed',
  'recovery-dropped',
] as const
const channels = createChannels<Pick<CacheEvents, (typeof channelEvents)[number]>>('cache', channelEvents)

export interface CacheSignals {
  readonly events: Emitter<CacheEvents>
  /** A Redis command failed (debug only: the failure gate logs the outage once). */
  storeError(operation: string, error: unknown): void
  /** A stale value was served (counted, emitted). */
  served(key: string, reason: StaleReason): void
  /** A load missed both tiers and goes to the factory (counted, emitted). */
  missed(key: string): void
  factoryFailed(key: string, error: unknown): void
  invalidatedEvent(payload: CacheEvents['invalidated']): void
  /** Auto-recovery queued, replayed or dropped an operation (emitted, published). */
  recoveryEvent<E extends 'recovery-queued' | 'recovery-replayed' | 'recovery-dropped'>(
    event: E,
    payload: CacheEvents[E],
  ): void
  /** The L2 failure gate changed state. */
  onGateChange(state: FailureGateState, previous: FailureGateState): void
}

export function createCacheSignals(logger: Logger, counters: Counters): CacheSignals {
  const events = createEmitter<CacheEvents>((error, event) =>
    logger.error({ err: error, event }, 'cache event listener threw'),
  )
  return {
    events,
    storeError(operation, error) {
      logger.debug({ err: error, operation }, 'cache: Redis command failed')
      if (events.has('store-error')) events.emit('store-error', { operation, error })
      channels['store-error'].publish({ operation, error })
    },
    served(key, reason) {
      counters.staleServed++
      if (events.has('stale')) events.emit('stale', { key, reason })
      channels.stale.publish({ key, reason })
    },
    missed(key) {
      counters.misses++
      counters.groups.of(key).misses++
      if (events.has('miss')) events.emit('miss', { key })
      channels.miss.publish({ key })
    },
    factoryFailed(key, error) {
      logger.debug({ err: error, key }, 'cache factory failed')
      if (events.has('factory-error')) events.emit('factory-error', { key, error })
      channels['factory-error'].publish({ key, error })
    },
    invalidatedEvent(payload) {
      if (events.has('invalidated')) events.emit('invalidated', payload)
      channels.invalidated.publish(payload)
    },
    recoveryEvent(event, payload) {
      if (events.has(event)) events.emit(event, payload)
      channels[event].publish(payload)
    },
    onGateChange(state, previous) {
      // One line per outage, not one per failed command.
      if (state === 'open' && previous === 'closed') {
        logger.warn({ state }, 'cache: Redis unavailable; serving from L1 and stale entries')
      } else if (state === 'closed') {
        logger.info({ state }, 'cache: Redis reachable again')
      }
      if (events.has('store-state')) events.emit('store-state', { state, previous })
    },
  }
}
