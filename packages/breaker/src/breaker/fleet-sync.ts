// A shared breaker's side of the fleet protocol: it tells the fleet of its own opens
// and closes, asks for the half-open probe lease and keeps it renewed, follows the
// fleet's messages and catches up after a gap. It owns the lease timer and the Redis
// counters; the transitions stay in state-machine.ts, seen here through `FleetMachine`.
// None of it runs per call: only on state changes, timers and Redis answers.
import type { Clock, Emitter, Logger, TimerHandle } from '@headroom/core'
import type { HubMessage } from '../shared/messages.js'
import { CLOSED, HALF_OPEN, type Mode, OPEN, SHUT } from './mode.js'
import type { SharedHub } from './shared-hub.js'
import type { OpenReason } from './thresholds.js'
import type { BreakerEvents, BreakerStats, TransitionReason } from './types.js'

/** The breaker's state machine as the fleet sees it: read when an answer arrives. */
export interface FleetMachine {
  readonly mode: Mode
  /** Bumped on every state change: an answer from Redis that arrives after one is stale. */
  readonly epoch: number
  /** While open: when the reset timer fires (the breaker's clock). */
  readonly openUntil: number
  armReset(ms: number): void
  toOpen(reason: OpenReason, ms: number, remote: boolean, force: boolean): void
  toHalfOpen(leaseMs?: number): void
  toClosed(reason: TransitionReason, remote: boolean): void
}

export interface FleetSyncDeps {
  shared: SharedHub
  machine: FleetMachine
  name: string
  resetTimeout: number
  clock: Clock
  logger: Logger
  emitter: Emitter<BreakerEvents>
}

export interface FleetSync {
  /** Listens to the fleet; the returned function stops listening. */
  join(): () => void
  /** Tells the fleet this instance opened (`force` for `trip()`). */
  announceOpen(ms: number, force: boolean): void
  /** Tells the fleet this instance closed. */
  announceClosed(): void
  /** The reset timeout ran out: half-open on local state, or ask the fleet for the probe lease. */
  requestProbe(): void
  /** Holds the probe lease won for `ms`: renews it at half time while half-open. */
  holdLease(ms: number): void
  /** Stops renewing the lease (on every state change and on close). */
  clearLease(): void
  stats(): NonNullable<BreakerStats['shared']>
}

export function createFleetSync(deps: FleetSyncDeps): FleetSync {
  const { shared, machine, name, clock, logger, emitter } = deps
  const { hub, sharedName, leaseMs } = shared
  let leaseTimer: TimerHandle | undefined
  let storeErrors = 0
  let probeLeases = 0

  function renewLease() {
    leaseTimer = undefined
    if (machine.mode !== HALF_OPEN) return
    const at = machine.epoch
    hub.acquireProbe(sharedName, leaseMs).then(
      (grant) => {
        if (at !== machine.epoch || machine.mode !== HALF_OPEN) return
        if (grant.kind === 'lease') leaseTimer = clock.setTimeout(renewLease, grant.ms / 2)
        else if (grant.kind === 'closed') machine.toClosed('remote', true)
        else machine.toOpen('remote', grant.ms, true, false)
      },
      // Redis went away mid-probe: finish probing on local state.
      (error: unknown) => sharedError('renew-lease', error),
    )
  }

  function onRemote(message: HubMessage) {
    if (machine.mode === SHUT) return
    if (message.type === 'open') machine.toOpen('remote', message.ms, true, false)
    else if (machine.mode !== CLOSED) machine.toClosed('remote', true)
  }

  // After a gap (start-up, Redis outage, resubscription): tell the fleet about an open it
  // missed, or adopt the fleet's open.
  async function sync(): Promise<void> {
    if (machine.mode === SHUT || machine.mode === HALF_OPEN) return
    const at = machine.epoch
    if (machine.mode === OPEN) {
      const ms = machine.openUntil - clock.now()
      if (ms <= 0) return
      const left = await hub.markOpen(sharedName, ms, 'sync')
      if (at === machine.epoch && machine.mode === OPEN && left > 0 && Math.abs(left - ms) > 1)
        machine.armReset(left)
      return
    }
    const ms = await hub.readOpen(sharedName)
    if (ms > 0 && at === machine.epoch && machine.mode === CLOSED) machine.toOpen('remote', ms, true, false)
  }

  function sharedError(operation: string, error: unknown) {
    storeErrors++
    logger.warn({ err: error, operation }, 'breaker: Redis unavailable, going on with local state')
    if (emitter.has('sharedError')) emitter.emit('sharedError', { name, operation, error })
  }

  return {
    join: () => hub.register(sharedName, onRemote, sync),
    announceOpen(ms, force) {
      const at = machine.epoch
      hub.markOpen(sharedName, ms, force ? 'force' : 'decision').then(
        (left) => {
          // The fleet was open already: follow its clock, not ours.
          if (at === machine.epoch && machine.mode === OPEN && left > 0 && Math.abs(left - ms) > 1)
            machine.armReset(left)
        },
        (error: unknown) => {
          sharedError('open', error)
          // The fleet must hear of an outage: publish it once Redis answers again.
          hub.requestSync(sharedName)
        },
      )
    },
    announceClosed() {
      hub.markClosed(sharedName).catch((error: unknown) => sharedError('close', error))
    },
    requestProbe() {
      if (hub.mode === 'local') return machine.toHalfOpen()
      const at = machine.epoch
      hub.acquireProbe(sharedName, leaseMs).then(
        (grant) => {
          if (at !== machine.epoch || machine.mode !== OPEN) return
          if (grant.kind === 'closed') {
            // The fleet closed (its message is on its way): no probe needed.
            machine.toClosed('remote', true)
          } else if (grant.kind === 'lease') {
            probeLeases++
            machine.toHalfOpen(grant.ms)
          } else {
            // Still open, or another instance probes: its verdict comes by pub/sub; if it
            // never does (it died), the lease runs out and this instance asks again.
            machine.armReset(grant.kind === 'busy' ? grant.ms + 10 : grant.ms)
          }
        },
        (error: unknown) => {
          if (at !== machine.epoch || machine.mode !== OPEN) return
          sharedError('acquire-probe', error)
          // Redis down (the hub's gate says so): probe on local state. One slow answer is
          // not an outage, and probing on it could make a second prober: ask again soon.
          if (hub.mode === 'local') machine.toHalfOpen()
          else machine.armReset(Math.min(1_000, deps.resetTimeout))
        },
      )
    },
    holdLease(ms) {
      leaseTimer = clock.setTimeout(renewLease, ms / 2)
    },
    clearLease() {
      if (leaseTimer !== undefined) clock.clearTimeout(leaseTimer)
      leaseTimer = undefined
    },
    stats: () => ({ name: sharedName, mode: hub.mode, storeErrors, probeLeases }),
  }
}
