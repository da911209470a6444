// External inputs (e.g. a circuit breaker reporting a dependency down), kept by name.
import type { StatusReason } from '../status/change.js'
import { type HealthStatus, worse } from '../status/status.js'
import type { HealthInput } from './types.js'

/** Throws unless `status` is one of the three statuses (reportInput takes it from callers). */
export function assertInputStatus(status: unknown): asserts status is HealthStatus {
  if (status !== 'healthy' && status !== 'degraded' && status !== 'critical')
    throw new TypeError(
      `reportInput: status must be healthy, degraded or critical (received ${String(status)})`,
    )
}

/** The inputs of one monitor: each one's status, detail and since when it holds. */
export class HealthInputs {
  readonly #inputs = new Map<string, HealthInput>()

  /** Sets an input; false when it already said exactly this (nothing to announce). */
  set(name: string, status: HealthStatus, detail: string | undefined, now: number): boolean {
    const previous = this.#inputs.get(name)
    if (previous?.status === status && previous.detail === detail) return false
    const entry: HealthInput = { name, status, since: previous?.status === status ? previous.since : now }
    if (detail !== undefined) entry.detail = detail
    this.#inputs.set(name, entry)
    return true
  }

  /** Removes an input; false when there was none. */
  delete(name: string): boolean {
    return this.#inputs.delete(name)
  }

  /** The worst status any input reports. */
  worst(): HealthStatus {
    let status: HealthStatus = 'healthy'
    for (const entry of this.#inputs.values()) status = worse(status, entry.status)
    return status
  }

  /** A copy of every input. */
  list(): HealthInput[] {
    return [...this.#inputs.values()]
  }

  /** One reason per input worse than healthy. */
  reasons(): StatusReason[] {
    const list: StatusReason[] = []
    for (const entry of this.#inputs.values()) {
      if (entry.status === 'healthy') continue
      list.push({
        kind: 'input',
        name: entry.name,
        status: entry.status,
        message: `${entry.name} is ${entry.status}${entry.detail ? ` (${entry.detail})` : ''}`,
      })
    }
    return list
  }
}
