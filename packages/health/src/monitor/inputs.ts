// External inputs (e.g. a circuit breaker reporting a dependency down): validated,
// kept by name, announced as `input` events, and fed straight into the status.
import { type Clock, ClosedError, type Emitter } from '@headroom/core'
import type { HealthStatus } from '../status/status.js'
import type { HealthEvents, HealthInput } from './types.js'

export interface HealthInputs {
  readonly entries: ReadonlyMap<string, HealthInput>
  report(name: string, status: HealthStatus, detail?: string): void
  clear(name: string): void
}

export interface HealthInputsOptions {
  clock: Clock
  events: Pick<Emitter<HealthEvents>, 'emit'>
  /** True once the monitor is closed: reporting then throws. */
  isClosed: () => boolean
  /** Re-evaluates the status after an input changed. */
  onChange: () => void
}

export function createHealthInputs({ clock, events, isClosed, onChange }: HealthInputsOptions): HealthInputs {
  const inputs = new Map<string, HealthInput>()
  return {
    entries: inputs,
    report(name, status, detail) {
      if (status !== 'healthy' && status !== 'degraded' && status !== 'critical')
        throw new TypeError(
          `reportInput: status must be healthy, degraded or critical (received ${String(status)})`,
        )
      if (isClosed()) throw new ClosedError('The health monitor is closed')
      const previous = inputs.get(name)
      if (previous?.status === status && previous.detail === detail) return
      const entry: HealthInput = {
        name,
        status,
        since: previous?.status === status ? previous.since : clock.now(),
      }
      if (detail !== undefined) entry.detail = detail
      inputs.set(name, entry)
      events.emit('input', { name, status, ...(detail === undefined ? {} : { detail }) })
      onChange()
    },
    clear(name) {
      if (!inputs.delete(name)) return
      events.emit('input', { name, status: undefined })
      onChange()
    },
  }
}
