// The leases a worker holds, from claim to the store's answer to their settlement, and
// the error of each failed job until that answer: one map each, private to this class.
import type { Lease } from './lease.js'

export class WorkerLeases {
  readonly #held = new Map<string, Lease>()
  /** The error of each failed job whose settlement the store has not answered yet. */
  readonly #errors = new Map<string, unknown>()

  /** Leases held (running, or finished and waiting for their acknowledgement). */
  get size(): number {
    return this.#held.size
  }

  hold(lease: Lease): void {
    this.#held.set(lease.id, lease)
  }

  get(id: string): Lease | undefined {
    return this.#held.get(id)
  }

  /** Every lease held, as a copy (close hands them back while the map changes). */
  all(): Lease[] {
    return [...this.#held.values()]
  }

  /** The leases a heartbeat renews: those not known to be lost. */
  renewable(): { id: string; token: string }[] {
    const leases: { id: string; token: string }[] = []
    for (const lease of this.#held.values())
      if (!lease.lost) leases.push({ id: lease.id, token: lease.token })
    return leases
  }

  /** Forgets a lease that nothing will acknowledge (it was lost). */
  drop(id: string): void {
    this.#held.delete(id)
  }

  /** The job failed with `error`: kept for the events once the store answers its settlement. */
  failed(id: string, error: unknown): void {
    this.#errors.set(id, error)
  }

  /**
   * The store answered the settlement of `id` made under `token`: the lease is forgotten
   * unless a newer one of the same job is held, and returned for the events.
   */
  settled(id: string, token: string): Lease | undefined {
    const lease = this.#held.get(id)
    if (lease?.token === token) this.#held.delete(id)
    return lease
  }

  /** The error the job's settlement carries, forgotten once read. */
  takeError(id: string): unknown {
    const error = this.#errors.get(id)
    this.#errors.delete(id)
    return error
  }
}
