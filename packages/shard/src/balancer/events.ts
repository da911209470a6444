// What a balancer tells the outside: typed events for subscribers and diagnostics
// channels for tracing tools, created together so their names stay in one place.
import { createChannels, createEmitter, type Emitter, type Logger } from '@headroom/core'

/** Events of a {@link Balancer}. */
export interface BalancerEvents<T> {
  [event: string]: unknown
  eject: { target: T; id: string; reason: string }
  readmit: { target: T; id: string }
}

/** The balancer's emitter; a listener that throws is logged, never rethrown. */
export function createBalancerEvents<T>(logger: Logger): Emitter<BalancerEvents<T>> {
  return createEmitter<BalancerEvents<T>>((error, event) =>
    logger.error({ err: error, event }, 'balancer listener failed'),
  )
}

/** The `headroom:shard:eject` and `headroom:shard:readmit` channels of one balancer. */
export function createBalancerChannels() {
  return createChannels<{ eject: { id: string; reason: string }; readmit: { id: string } }>('shard', [
    'eject',
    'readmit',
  ])
}
