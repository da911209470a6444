// The breaker's state: its mode, the rolling window the closed state decides on, the
// half-open probes, the reset timer and, for a shared breaker, the fleet sync. Every
// rule about when the state changes lives here; the breaker's call path reads `mode`
// and reports outcomes through `record`.
//
// opossum holds the open/closed state of the circuit underneath: the machine sets it with
// `open()` and `close()` on each change. Half-open is the machine's own: opossum's
// half-open admits one call and is reached only by its own reset timer, while a breaker
// admits `halfOpenProbes` calls after a timer on the injected clock. During half-open
// opossum is closed and `admitProbe` is the gate in front of it.
import type { Clock, Emitter, Logger, TimerHandle } from '@headroom/core'
import type CircuitBreaker from 'opossum'
import type { TimeoutAbort } from './abort.js'
import { createFleetSync, type FleetMachine, type FleetSync } from './fleet-sync.js'
import { CLOSED, HALF_OPEN, type LiveMode, type Mode, OPEN, SHUT, STATE_NAMES } from './mode.js'
import { createRollingWindow, type RollingWindow } from './rolling-window.js'
import type { SharedHub } from './shared-hub.js'
import { announceStateChange } from './state-change.js'
import { type OpenReason, type Thresholds, tripReason } from './thresholds.js'
import type { BreakerEvents, BreakerState, BreakerStats, StateChange, TransitionReason } from './types.js'

/** The rules the machine applies, from the breaker's resolved options. */
export interface MachineRules extends Thresholds {
  volumeThreshold: number
  halfOpenProbes: number
  resetTimeout: number
  rollingCountBuckets: number
}

export interface StateMachineDeps {
  name: string
  rules: MachineRules
  /** The opossum circuit whose open/closed state follows the machine's. */
  circuit: Pick<CircuitBreaker, 'open' | 'close'>
  abort: TimeoutAbort | undefined
  shared: SharedHub | undefined
  clock: Clock
  logger: Logger
  emitter: Emitter<BreakerEvents>
}

export class BreakerStateMachine implements FleetMachine {
  #mode: Mode = CLOSED
  #state: BreakerState = 'closed'
  #since: number
  // Bumped on every state change: an answer from Redis that arrives after one is stale.
  #epoch = 0
  #resetTimer: TimerHandle | undefined
  #openUntil = 0
  #opens = 0
  #probesAdmitted = 0
  #probeDone = 0
  #probeFailures = 0
  #probeSlow = 0
  readonly #window: RollingWindow
  readonly #deps: StateMachineDeps
  readonly #fleet: FleetSync | undefined
  readonly #leaveFleet: (() => void) | undefined

  constructor(deps: StateMachineDeps) {
    this.#deps = deps
    this.#since = deps.clock.now()
    this.#window = createRollingWindow(deps.rules.rollingCountBuckets)
    this.#fleet =
      deps.shared &&
      createFleetSync({
        shared: deps.shared,
        machine: this,
        name: deps.name,
        resetTimeout: deps.rules.resetTimeout,
        clock: deps.clock,
        logger: deps.logger,
        emitter: deps.emitter,
      })
    // Last: joining syncs with the fleet at once, which reads everything above.
    this.#leaveFleet = this.#fleet?.join()
  }

  /** Read on every call: the closed path is one integer comparison. */
  get mode(): Mode {
    return this.#mode
  }

  get state(): BreakerState {
    return this.#state
  }

  /** When the state last changed (the breaker's clock). */
  get since(): number {
    return this.#since
  }

  get epoch(): number {
    return this.#epoch
  }

  /** While open: when it next tries to half-open. */
  get openUntil(): number {
    return this.#openUntil
  }

  /** Times it opened. */
  get opens(): number {
    return this.#opens
  }

  /** A completed call: counted in the window when closed, judged as a probe when half-open. */
  record(failed: boolean, slow: boolean): void {
    if (this.#mode === CLOSED) {
      const window = this.#window
      window.record(failed, slow)
      if ((failed || slow) && window.calls >= this.#deps.rules.volumeThreshold) {
        const reason = tripReason(window.calls, window.failures, window.slow, this.#deps.rules)
        if (reason) this.toOpen(reason, this.#deps.rules.resetTimeout, false, false)
      }
    } else if (this.#mode === HALF_OPEN) {
      this.#probeOutcome(failed, slow)
    }
    // Open: a call admitted before the breaker opened says nothing new.
  }

  /** Half-open: takes a probe slot, or returns false when every probe is out. */
  admitProbe(): boolean {
    if (this.#mode !== HALF_OPEN || this.#probesAdmitted >= this.#deps.rules.halfOpenProbes) return false
    this.#probesAdmitted++
    return true
  }

  /**
   * A call was refused at capacity, which says nothing about the dependency: a probe
   * refused this way frees its slot, or half-open would wait for an outcome that never comes.
   */
  releaseProbe(): void {
    if (this.#mode === HALF_OPEN && this.#probesAdmitted > this.#probeDone) this.#probesAdmitted--
  }

  /** Slides the rolling window one bucket (the ticker's beat). */
  readonly rotate = (): void => this.#window.rotate()

  windowCounts(): { calls: number; failures: number; slow: number } {
    const window = this.#window
    return { calls: window.calls, failures: window.failures, slow: window.slow }
  }

  toOpen(reason: OpenReason, ms: number, remote: boolean, force: boolean): void {
    const mode = this.#mode
    if (mode === SHUT) return
    this.#clearTimers()
    this.#window.reset()
    let announce: (() => void) | undefined
    if (mode === OPEN) {
      this.#epoch++
    } else {
      this.#opens++
      announce = this.#enter(OPEN, reason, remote, ms)
    }
    this.armReset(ms)
    // The fleet hears first; this process's listeners (logging...) run after the write is sent.
    if (this.#fleet && !remote) this.#fleet.announceOpen(ms, force)
    announce?.()
  }

  toHalfOpen(leaseMs?: number): void {
    this.#clearTimers()
    this.#probesAdmitted = 0
    this.#probeDone = 0
    this.#probeFailures = 0
    this.#probeSlow = 0
    this.#deps.abort?.renew()
    this.#enter(HALF_OPEN, 'reset-timeout', false)()
    if (leaseMs !== undefined) this.#fleet?.holdLease(leaseMs)
  }

  toClosed(reason: TransitionReason, remote: boolean): void {
    const mode = this.#mode
    if (mode === SHUT) return
    this.#clearTimers()
    this.#window.reset()
    this.#deps.abort?.renew()
    const announce = mode === CLOSED ? undefined : this.#enter(CLOSED, reason, remote)
    if (this.#fleet && !remote) this.#fleet.announceClosed()
    announce?.()
  }

  armReset(ms: number): void {
    const clock = this.#deps.clock
    if (this.#resetTimer !== undefined) clock.clearTimeout(this.#resetTimer)
    this.#openUntil = clock.now() + ms
    this.#resetTimer = clock.setTimeout(this.#onResetTimeout, ms)
  }

  /** On the breaker's `close()`: refuses everything from now on, clears the timers, leaves the fleet. */
  shut(): void {
    this.#mode = SHUT
    this.#clearTimers()
    this.#leaveFleet?.()
  }

  sharedStats(): BreakerStats['shared'] {
    return this.#fleet?.stats()
  }

  /** Changes the mode now and returns the announcement (events), so a caller can send to Redis first. */
  #enter(next: LiveMode, reason: TransitionReason, remote: boolean, openMs?: number): () => void {
    const previous = this.#state
    this.#mode = next
    this.#state = STATE_NAMES[next]!
    this.#since = this.#deps.clock.now()
    this.#epoch++
    // opossum follows: open refuses calls; closed (and half-open) runs them.
    if (next === OPEN) this.#deps.circuit.open()
    else this.#deps.circuit.close()
    const change: StateChange = {
      name: this.#deps.name,
      state: this.#state,
      previous,
      reason,
      remote,
      at: this.#since,
    }
    if (openMs !== undefined) change.openMs = openMs
    return () => announceStateChange(change, this.#deps.logger, this.#deps.emitter)
  }

  #probeOutcome(failed: boolean, slow: boolean): void {
    const rules = this.#deps.rules
    this.#probeDone++
    if (failed) this.#probeFailures++
    if (slow) this.#probeSlow++
    // Reopen as soon as the failures alone decide it; otherwise wait for every probe.
    if ((this.#probeFailures / rules.halfOpenProbes) * 100 > rules.errorThresholdPercentage) {
      this.toOpen('probe-failed', rules.resetTimeout, false, false)
    } else if (this.#probeDone >= rules.halfOpenProbes) {
      const reason = tripReason(this.#probeDone, this.#probeFailures, this.#probeSlow, rules)
      if (reason)
        this.toOpen(reason === 'failures' ? 'probe-failed' : reason, rules.resetTimeout, false, false)
      else this.toClosed('probes-passed', false)
    }
  }

  readonly #onResetTimeout = (): void => {
    this.#resetTimer = undefined
    if (this.#mode !== OPEN) return
    if (this.#fleet) this.#fleet.requestProbe()
    else this.toHalfOpen()
  }

  #clearTimers(): void {
    if (this.#resetTimer !== undefined) this.#deps.clock.clearTimeout(this.#resetTimer)
    this.#resetTimer = undefined
    this.#fleet?.clearLease()
  }
}
