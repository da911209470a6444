// The breaker's state machine, off the call path: transitions, the reset timer, the
// announcements and, for a shared breaker, the fleet sync they drive. The mode itself
// stays a local of the breaker's closure, since the closed path reads it on every call;
// the machine reads and writes it through `host`, only when the state changes.
import type { Clock, Emitter, Logger, TimerHandle } from '@headroom/core'
import { CLOSED, HALF_OPEN, type LiveMode, type Mode, OPEN, SHUT, STATE_NAMES } from './breaker-mode.js'
import { createFleetSync } from './fleet-sync.js'
import { type OpossumInternals, renewAbortController } from './opossum-circuit.js'
import type { RollingWindow } from './rolling-window.js'
import type { SharedHub } from './shared-hub.js'
import { announceStateChange } from './state-change.js'
import type { OpenReason } from './thresholds.js'
import type { BreakerEvents, BreakerState, BreakerStats, StateChange, TransitionReason } from './types.js'

/** The part of the breaker's closure the machine drives. */
export interface MachineHost {
  mode(): Mode
  setMode(mode: LiveMode): void
  /** Entering half-open: the probe counters start over. */
  resetProbes(): void
}

export interface StateMachineDeps {
  host: MachineHost
  shared: SharedHub | undefined
  name: string
  resetTimeout: number
  autoRenewAbortController: boolean
  internals: OpossumInternals
  window: RollingWindow
  clock: Clock
  logger: Logger
  emitter: Emitter<BreakerEvents>
}

export interface StateMachine {
  readonly state: BreakerState
  /** When the state last changed (the breaker's clock). */
  readonly since: number
  /** While open: when it next tries to half-open. */
  readonly openUntil: number
  /** Times it opened. */
  readonly opens: number
  toOpen(reason: OpenReason, ms: number, remote: boolean, force: boolean): void
  toClosed(reason: TransitionReason, remote: boolean): void
  /** On `close()`, once the host's mode is SHUT: clears the timers and leaves the fleet. */
  shut(): void
  sharedStats(): BreakerStats['shared']
}

export function createStateMachine(deps: StateMachineDeps): StateMachine {
  const { host, shared, name, clock, logger, emitter, window, internals } = deps
  let lastState: BreakerState = 'closed'
  let since = clock.now()
  // Bumped on every state change: an answer from Redis that arrives after one is stale.
  let epoch = 0
  let resetTimer: TimerHandle | undefined
  let openUntil = 0
  let opens = 0

  const clearTimers = () => {
    if (resetTimer !== undefined) clock.clearTimeout(resetTimer)
    resetTimer = undefined
    fleet?.clearLease()
  }

  const armReset = (ms: number) => {
    if (resetTimer !== undefined) clock.clearTimeout(resetTimer)
    openUntil = clock.now() + ms
    resetTimer = clock.setTimeout(onResetTimeout, ms)
  }

  /** Changes the mode now and returns the announcement (events), so a caller can send to Redis first. */
  function setMode(next: LiveMode, reason: TransitionReason, remote: boolean, openMs?: number): () => void {
    const previous = lastState
    host.setMode(next)
    lastState = STATE_NAMES[next]!
    since = clock.now()
    epoch++
    const change: StateChange = { name, state: lastState, previous, reason, remote, at: since }
    if (openMs !== undefined) change.openMs = openMs
    return () => announceStateChange(change, logger, emitter)
  }

  function toOpen(reason: OpenReason, ms: number, remote: boolean, force: boolean) {
    const mode = host.mode()
    if (mode === SHUT) return
    clearTimers()
    window.reset()
    let announce: (() => void) | undefined
    if (mode === OPEN) {
      epoch++
    } else {
      opens++
      announce = setMode(OPEN, reason, remote, ms)
    }
    armReset(ms)
    // The fleet hears first; this process's listeners (logging...) run after the write is sent.
    if (fleet && !remote) fleet.announceOpen(ms, force)
    announce?.()
  }

  function toHalfOpen(leaseMs?: number) {
    clearTimers()
    host.resetProbes()
    renewAbortController(internals, deps.autoRenewAbortController)
    setMode(HALF_OPEN, 'reset-timeout', false)()
    if (leaseMs !== undefined) fleet?.holdLease(leaseMs)
  }

  function toClosed(reason: TransitionReason, remote: boolean) {
    const mode = host.mode()
    if (mode === SHUT) return
    clearTimers()
    window.reset()
    renewAbortController(internals, deps.autoRenewAbortController)
    const announce = mode === CLOSED ? undefined : setMode(CLOSED, reason, remote)
    if (fleet && !remote) fleet.announceClosed()
    announce?.()
  }

  function onResetTimeout() {
    resetTimer = undefined
    if (host.mode() !== OPEN) return
    if (!fleet) return toHalfOpen()
    fleet.requestProbe()
  }

  const fleet =
    shared &&
    createFleetSync({
      shared,
      machine: {
        get mode() {
          return host.mode()
        },
        get epoch() {
          return epoch
        },
        get openUntil() {
          return openUntil
        },
        armReset,
        toOpen,
        toHalfOpen,
        toClosed,
      },
      name,
      resetTimeout: deps.resetTimeout,
      clock,
      logger,
      emitter,
    })
  // Last: joining syncs with the fleet at once, which may read everything above.
  const unregister = fleet?.join()

  return {
    get state() {
      return lastState
    },
    get since() {
      return since
    },
    get openUntil() {
      return openUntil
    },
    get opens() {
      return opens
    },
    toOpen,
    toClosed,
    shut() {
      clearTimers()
      unregister?.()
    },
    sharedStats: () => fleet?.stats(),
  }
}
