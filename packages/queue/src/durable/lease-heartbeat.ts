// Lease renewal: while a worker holds leases it extends them every heartbeat, so a job
// whose worker died is run again within seconds, and it learns which leases moved on.
import type { Clock, Logger, TimerHandle } from '@headroom/core'
import type { JobStore } from '../store/job-store.js'
import type { Lease } from './lease.js'
import type { WorkerLeases } from './worker-leases.js'

export interface LeaseHeartbeatOptions {
  clock: Clock
  store: JobStore
  logger: Logger
  leases: WorkerLeases
  leaseMs: number
  heartbeatMs: number
  /** The job's settlement is still waiting to be sent. */
  unsent: (id: string) => boolean
  /** The store no longer holds this lease for us. */
  onLost: (lease: Lease) => void
}

/** Renews the worker's leases every `heartbeatMs` from `start()` until `stop()`. */
export class LeaseHeartbeat {
  readonly #options: LeaseHeartbeatOptions
  #timer: TimerHandle | undefined
  #stopped = false

  constructor(options: LeaseHeartbeatOptions) {
    this.#options = options
  }

  start(): void {
    this.#timer = this.#options.clock.setTimeout(this.#beat, this.#options.heartbeatMs)
  }

  stop(): void {
    this.#stopped = true
    if (this.#timer !== undefined) this.#options.clock.clearTimeout(this.#timer)
    this.#timer = undefined
  }

  readonly #beat = (): void => {
    this.#timer = undefined
    if (this.#stopped) return
    const { clock, store, logger, leases, leaseMs, heartbeatMs, unsent, onLost } = this.#options
    const renewable = leases.renewable()
    if (renewable.length === 0) {
      this.#timer = clock.setTimeout(this.#beat, heartbeatMs)
      return
    }
    store
      .extend(renewable, leaseMs)
      .then(
        (lost) => {
          for (const id of lost) {
            const lease = leases.get(id)
            if (!lease || lease.lost) continue
            // A settlement already sent may have settled it between our snapshot and now: that is no loss.
            if (lease.done && !unsent(id)) continue
            onLost(lease)
          }
        },
        (error: unknown) => logger.warn({ err: error }, 'heartbeat failed'),
      )
      .finally(() => {
        if (!this.#stopped) this.#timer = clock.setTimeout(this.#beat, heartbeatMs)
      })
  }
}
