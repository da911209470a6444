// Lease renewal: while a worker holds leases it extends them every heartbeat, so a job
// whose worker died is run again within seconds, and it learns which leases moved on.
import type { Clock, Logger, TimerHandle } from '@headroom/core'
import type { JobStore } from '../store/job-store.js'
import type { Lease } from './lease.js'

export interface LeaseHeartbeatOptions {
  clock: Clock
  store: JobStore
  logger: Logger
  /** The worker's leases by job id. */
  held: Map<string, Lease>
  leaseMs: number
  heartbeatMs: number
  /** The job's settlement is still waiting to be sent. */
  unsent: (id: string) => boolean
  /** The store no longer holds this lease for us. */
  onLost: (lease: Lease) => void
}

/** Renews the worker's leases every `heartbeatMs` from `start()` until `stop()`. */
export function createLeaseHeartbeat(options: LeaseHeartbeatOptions) {
  const { clock, store, logger, held, leaseMs, heartbeatMs, unsent, onLost } = options
  let heartbeatTimer: TimerHandle | undefined
  let stopped = false

  const heartbeat = () => {
    heartbeatTimer = undefined
    if (stopped) return
    const leases: { id: string; token: string }[] = []
    for (const lease of held.values()) if (!lease.lost) leases.push({ id: lease.id, token: lease.token })
    if (leases.length === 0) {
      heartbeatTimer = clock.setTimeout(heartbeat, heartbeatMs)
      return
    }
    store
      .extend(leases, leaseMs)
      .then(
        (lost) => {
          for (const id of lost) {
            const lease = held.get(id)
            if (!lease || lease.lost) continue
            // A settlement already sent may have settled it between our snapshot and now: that is no loss.
            if (lease.done && !unsent(id)) continue
            onLost(lease)
          }
        },
        (error: unknown) => logger.warn({ err: error }, 'heartbeat failed'),
      )
      .finally(() => {
        if (!stopped) heartbeatTimer = clock.setTimeout(heartbeat, heartbeatMs)
      })
  }

  return {
    start() {
      heartbeatTimer = clock.setTimeout(heartbeat, heartbeatMs)
    },
    stop() {
      stopped = true
      if (heartbeatTimer !== undefined) clock.clearTimeout(heartbeatTimer)
      heartbeatTimer = undefined
    },
  }
}
