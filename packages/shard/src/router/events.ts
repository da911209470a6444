// What a router tells the outside: typed events for subscribers and diagnostics
// channels for tracing tools, created together so their names stay in one place.
import { createChannels, createEmitter, type Emitter, type Logger } from '@headroom/core'

/** Events of a {@link ShardRouter}. */
export interface ShardRouterEvents<T> {
  [event: string]: unknown
  topology: {
    version: number
    added: readonly string[]
    removed: readonly string[]
    reweighted: readonly string[]
    movedFraction: number
    ms: number
  }
  eject: { shard: string; target: T; role: 'primary' | 'replica'; reason: string }
  readmit: { shard: string; target: T; role: 'primary' | 'replica'; reason: string }
  unavailable: { shard: string; write: boolean }
}

/** The router's emitter; a listener that throws is logged, never rethrown. */
export function createRouterEvents<T>(logger: Logger): Emitter<ShardRouterEvents<T>> {
  return createEmitter<ShardRouterEvents<T>>((error, event) =>
    logger.error({ err: error, event }, 'shard router listener failed'),
  )
}

/** The `headroom:shard:*` diagnostics channels of one router. */
export function createRouterChannels() {
  return createChannels<{
    topology: { version: number; movedFraction: number; ms: number }
    eject: { id: string; reason: string }
    readmit: { id: string }
    unavailable: { shard: string; write: boolean }
  }>('shard', ['topology', 'eject', 'readmit', 'unavailable'])
}

export type RouterChannels = ReturnType<typeof createRouterChannels>
