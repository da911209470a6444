// How a breaker makes a state change known: a log line, the `state` event and its
// per-state twin (`open`, `halfOpen`, `close`), then the diagnostics channel.
import type { Emitter, Logger } from '@headroom/core'
import { channels } from './channels.js'
import type { BreakerEvents, BreakerState, StateChange } from './types.js'

const EVENT_OF_STATE = { closed: 'close', open: 'open', 'half-open': 'halfOpen' } as const satisfies Record<
  BreakerState,
  keyof BreakerEvents
>

export function announceStateChange(
  change: StateChange,
  logger: Logger,
  emitter: Emitter<BreakerEvents>,
): void {
  // Read before any listener runs: one that edits the payload changes nothing here.
  const { state, previous, reason, remote } = change
  logger.info({ state, previous, reason, remote }, `breaker ${state}`)
  emitter.emit('state', change)
  emitter.emit(EVENT_OF_STATE[state], change)
  channels.state.publish(change)
}
