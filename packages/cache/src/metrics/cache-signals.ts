// How the cache tells the outside what happened: the counters behind `stats()`, its typed
// events, the same messages on diagnostics_channel for tracers, and the log lines. The
// counters are private here; the rest of the cache reports through the verbs.

import {
  createChannels,
  createEmitter,
  createLatencyHistogram,
  type Emitter,
  type FailureGateState,
  type Logger,
} from '@headroom/core'
import type { CacheEvents, CacheStats, StaleReason } from '../types.js'
import type { KeyGroups } from './key-groups.js'

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

type RecoveryEvent = 'recovery-queued' | 'recovery-replayed' | 'recovery-dropped'

/** What `stats()` reads from the parts that keep their own figures. */
export interface StatsSources {
  l1: {
    readonly size: number
    readonly bytes: number
    readonly evictions: number
    readonly shedCount: number
  }
  store: { readonly errors: number; readonly gateState: FailureGateState } | undefined
  /** Loads in flight. */
  inflight: number
  /** Operations auto-recovery holds for Redis. */
  recoveryPending: number
}

export class CacheSignals {
  readonly events: Emitter<CacheEvents>
  readonly #logger: Logger
  /** Hits and misses by key group (L1 hits count there only, through each entry). */
  readonly #groups: KeyGroups
  readonly #factoryLatency = createLatencyHistogram()
  #l2Hits = 0
  #misses = 0
  /** `get`/`getMany` reads neither tier answered (they run no factory). */
  #readMisses = 0
  #coalesced = 0
  #staleServed = 0
  #earlyRefreshes = 0
  #prefetches = 0
  #factoryCalls = 0
  #factoryErrors = 0
  #softTimeouts = 0
  #hardTimeouts = 0
  #lockAcquired = 0
  #lockWaited = 0
  #lockFallbacks = 0
  #busPublished = 0
  #busReceived = 0
  #busReconnects = 0
  #recoveryQueued = 0
  #recoveryReplayed = 0
  #recoveryDropped = 0

  constructor(logger: Logger, groups: KeyGroups) {
    this.#logger = logger
    this.#groups = groups
    this.events = createEmitter<CacheEvents>((error, event) =>
      logger.error({ err: error, event }, 'cache event listener threw'),
    )
  }

  // --- Reads ---------------------------------------------------------------------------

  l2Hit(key: string): void {
    this.#l2Hits++
    this.#groups.of(key).l2Hits++
  }

  /** A `get` that neither tier answered: it runs no factory, so only the read counters see it. */
  readMissed(key: string): void {
    this.#readMisses++
    this.#groups.of(key).misses++
  }

  /** A load missed both tiers and goes to the factory (counted, emitted). */
  missed(key: string): void {
    this.#misses++
    this.#groups.of(key).misses++
    const events = this.events
    if (events.has('miss')) events.emit('miss', { key })
    channels.miss.publish({ key })
  }

  /** A caller joined another caller's load of the same key. */
  coalesced(): void {
    this.#coalesced++
  }

  /** Callers that joined another's load so far (the tracer compares it around a call). */
  get coalescedCount(): number {
    return this.#coalesced
  }

  /** A stale value was served (counted, emitted). */
  served(key: string, reason: StaleReason): void {
    this.#staleServed++
    if (this.events.has('stale')) this.events.emit('stale', { key, reason })
    channels.stale.publish({ key, reason })
  }

  earlyRefreshStarted(): void {
    this.#earlyRefreshes++
  }

  prefetchStarted(): void {
    this.#prefetches++
  }

  // --- Factories and locks -------------------------------------------------------------

  factoryCalled(): void {
    this.#factoryCalls++
  }

  factorySucceeded(ms: number): void {
    this.#factoryLatency.record(ms)
  }

  factoryFailed(key: string, error: unknown): void {
    this.#factoryErrors++
    this.#logger.debug({ err: error, key }, 'cache factory failed')
    if (this.events.has('factory-error')) this.events.emit('factory-error', { key, error })
    channels['factory-error'].publish({ key, error })
  }

  softTimeout(): void {
    this.#softTimeouts++
  }

  hardTimeout(): void {
    this.#hardTimeouts++
  }

  lockAcquired(): void {
    this.#lockAcquired++
  }

  lockWaited(): void {
    this.#lockWaited++
  }

  lockFellBack(): void {
    this.#lockFallbacks++
  }

  // --- Redis, bus and recovery ---------------------------------------------------------

  /** A Redis command failed (debug only: the failure gate logs the outage once). */
  storeError(operation: string, error: unknown): void {
    this.#logger.debug({ err: error, operation }, 'cache: Redis command failed')
    if (this.events.has('store-error')) this.events.emit('store-error', { operation, error })
    channels['store-error'].publish({ operation, error })
  }

  /** The L2 failure gate changed state. */
  gateChanged(state: FailureGateState, previous: FailureGateState): void {
    // One line per outage, not one per failed command.
    if (state === 'open' && previous === 'closed') {
      this.#logger.warn({ state }, 'cache: Redis unavailable; serving from L1 and stale entries')
    } else if (state === 'closed') {
      this.#logger.info({ state }, 'cache: Redis reachable again')
    }
    if (this.events.has('store-state')) this.events.emit('store-state', { state, previous })
  }

  busPublished(): void {
    this.#busPublished++
  }

  busReceived(): void {
    this.#busReceived++
  }

  busReconnected(): void {
    this.#busReconnects++
  }

  invalidated(payload: CacheEvents['invalidated']): void {
    if (this.events.has('invalidated')) this.events.emit('invalidated', payload)
    channels.invalidated.publish(payload)
  }

  /** An operation was handed to auto-recovery (counted even when a later one of its key is queued). */
  recoveryQueued(): void {
    this.#recoveryQueued++
  }

  /** Auto-recovery queued, replayed or dropped an operation (replays and drops counted; emitted). */
  recoveryEvent<E extends RecoveryEvent>(event: E, payload: CacheEvents[E]): void {
    if (event === 'recovery-replayed') this.#recoveryReplayed++
    else if (event === 'recovery-dropped') this.#recoveryDropped++
    if (this.events.has(event)) this.events.emit(event, payload)
    channels[event].publish(payload)
  }

  // --- The snapshot --------------------------------------------------------------------

  stats(sources: StatsSources): CacheStats {
    const { l1, store } = sources
    const l1Hits = this.#groups.totals().l1Hits
    const l2Hits = this.#l2Hits
    const misses = this.#misses
    // Hit rates count every read: a get that found nothing misses as much as a load does.
    const allMisses = misses + this.#readMisses
    const reads = l1Hits + l2Hits + allMisses
    return {
      l1: {
        hits: l1Hits,
        hitRate: reads === 0 ? 0 : l1Hits / reads,
        size: l1.size,
        bytes: l1.bytes,
        evictions: l1.evictions,
        shed: l1.shedCount,
      },
      l2: {
        hits: l2Hits,
        hitRate: l2Hits + allMisses === 0 ? 0 : l2Hits / (l2Hits + allMisses),
        errors: store?.errors ?? 0,
        state: store?.gateState ?? 'none',
      },
      misses,
      readMisses: this.#readMisses,
      hitRate: reads === 0 ? 0 : (l1Hits + l2Hits) / reads,
      groups: this.#groups.snapshot(),
      coalesced: this.#coalesced,
      staleServed: this.#staleServed,
      earlyRefreshes: this.#earlyRefreshes,
      prefetches: this.#prefetches,
      factory: {
        calls: this.#factoryCalls,
        errors: this.#factoryErrors,
        softTimeouts: this.#softTimeouts,
        hardTimeouts: this.#hardTimeouts,
        latency: this.#factoryLatency.summary(),
      },
      lock: { acquired: this.#lockAcquired, waited: this.#lockWaited, fallbacks: this.#lockFallbacks },
      bus: { published: this.#busPublished, received: this.#busReceived, reconnects: this.#busReconnects },
      recovery: {
        pending: sources.recoveryPending,
        queued: this.#recoveryQueued,
        replayed: this.#recoveryReplayed,
        dropped: this.#recoveryDropped,
      },
      inflight: sources.inflight,
    }
  }
}
