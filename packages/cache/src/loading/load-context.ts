import type { Clock, Logger } from '@headroom/core'
import type { L1Coherence } from '../invalidation/l1-coherence.js'
import type { Recovery } from '../invalidation/recovery.js'
import type { CacheSignals } from '../metrics/cache-signals.js'
import type { LockSettings } from '../options/options.js'
import type { Codec } from '../tiers/entry.js'
import type { L1 } from '../tiers/l1.js'
import type { RedisStore } from '../tiers/redis-store.js'
import type { TickTime } from '../time/tick-time.js'
import type { TimerSet } from '../time/timer-set.js'
import type { Factory, GetOrSetOptions } from '../types.js'
import type { LoadRegistry, LoadTicket } from './load-registry.js'
import type { TtlPolicy } from './ttl.js'

/**
 * The parts of one cache that its reads, loads and writes work with, built once by
 * `createCache`. Each part owns its own state; the loading functions call their verbs.
 */
export interface LoadContext {
  readonly clock: Clock
  /** The hit path's time source. */
  readonly hitTime: TickTime
  readonly logger: Logger
  /** Timers `close()` clears: factory timeouts, lease renewals. */
  readonly timers: TimerSet
  /** Aborted by `close()`: ends lock waits. */
  readonly closeSignal: AbortSignal
  readonly signals: CacheSignals
  /** The owner of "a load overtaken by an invalidation never writes back". */
  readonly loads: LoadRegistry
  readonly l1: L1
  /** L2; `undefined` without Redis. */
  readonly store: RedisStore | undefined
  readonly codec: Codec
  readonly ttl: TtlPolicy
  /** Tells the other instances what this one wrote. */
  readonly coherence: L1Coherence
  /** Queues (or refuses) an explicit write Redis did not take; `undefined` without Redis. */
  readonly recovery: Recovery | undefined
  /** The cache's defaults for what per-call options may override. */
  readonly defaults: {
    /** Grace, in ms. */
    readonly grace: number
    /** Factory timeouts, in ms. */
    readonly timeout: { readonly soft: number; readonly hard: number }
    /** The `lock` option after defaults: whether loads take it unless told, and its timing. */
    readonly lock: LockSettings
  }
}

/** One load of a key: what to call, how, and the ticket it started with. */
export interface Load<T> {
  readonly key: string
  readonly factory: Factory<T>
  readonly options: GetOrSetOptions | undefined
  readonly ticket: LoadTicket
}
