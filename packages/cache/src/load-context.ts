import type { Clock, Logger } from '@headroom/core'
import type { Counters } from './counters.js'
import type { Codec, Entry } from './entry.js'
import type { TimerSet } from './timer-set.js'
import type { SetOptions, StaleReason } from './types.js'

/** What the factory runner and the lock flow need from the cache that owns them. */
export interface LoadContext {
  readonly clock: Clock
  readonly logger: Logger
  readonly counters: Counters
  readonly timers: TimerSet
  /** Default hard timeout of a factory, in ms. */
  readonly hardTimeout: number
  /** Aborted by `close()`: ends lock waits. */
  readonly closeSignal: AbortSignal
  /** A stale value was served (counted, emitted). */
  served(key: string, reason: StaleReason): void
  factoryFailed(key: string, error: unknown): void
  storeError(operation: string, error: unknown): void
  /** Validates and stores a computed value, unless the load was overtaken by an invalidation. */
  write(
    key: string,
    value: unknown,
    options: SetOptions | undefined,
    duration: number,
    startGeneration: number,
  ): Promise<unknown>
  /** Decodes an L2 payload (a miss when malformed). */
  decode: Codec['decode']
  /** Puts an entry read from L2 into L1, unless the load was overtaken. */
  adopt(key: string, entry: Entry, raw: string, startGeneration: number): void
}
