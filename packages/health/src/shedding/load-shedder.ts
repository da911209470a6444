import { parseOptions, tiedTo } from '@headroom/core'
import { z } from 'zod'
import type { HealthStatus } from '../status/status.js'

/**
 * Request or job priority, most important first. With the default policy `low` is
 * refused while the service is degraded, `medium` also while it is critical, and
 * `high` and `critical` are served in every status; a policy may shed `high`, never
 * `critical`.
 */
export type Priority = 'critical' | 'high' | 'medium' | 'low'

/** Which priorities are refused under each status. */
export interface ShedPolicy {
  /** Refused while degraded. @default ['low'] */
  degraded?: readonly Priority[]
  /** Refused while critical. @default ['low', 'medium'] */
  critical?: readonly Priority[]
}

/** Something with a status: a health monitor, or any object with the same getter. */
export interface StatusSource {
  readonly status: HealthStatus
}

/** The shedding decision, without HTTP: the same table `shedLoad` uses. */
export interface LoadShedder {
  /** True when work of `priority` should be refused now; a property read and two lookups. */
  shouldShed(priority: Priority): boolean
}

const priority = z.enum(['critical', 'high', 'medium', 'low'])
const schema = tiedTo<ShedPolicy>()(
  z
    .strictObject({
      degraded: z
        .array(priority)
        .readonly()
        .default(['low'])
        .refine((list) => !list.includes('critical'), 'Critical work is never shed'),
      critical: z
        .array(priority)
        .readonly()
        .default(['low', 'medium'])
        .refine((list) => !list.includes('critical'), 'Critical work is never shed'),
    })
    .refine((policy) => policy.degraded.every((shed) => policy.critical.includes(shed)), {
      message:
        'Expected critical to refuse every priority degraded refuses (a worse status never sheds less)',
      path: ['critical'],
    }),
)

/**
 * Decides which work to refuse from the monitor's status: lowest priority first
 * (Google SRE, "Handling Overload"), critical never.
 *
 * @example
 * const shedder = createLoadShedder(monitor)
 * if (shedder.shouldShed('low')) throw new OverloadedError()
 */
export function createLoadShedder(source: StatusSource, policy: ShedPolicy = {}): LoadShedder {
  const resolved = parseOptions('createLoadShedder', schema, policy)
  const row = (shed: readonly Priority[]) => ({
    critical: false,
    high: shed.includes('high'),
    medium: shed.includes('medium'),
    low: shed.includes('low'),
  })
  const table: Record<HealthStatus, Record<string, boolean>> = {
    healthy: row([]),
    degraded: row(resolved.degraded),
    critical: row(resolved.critical),
  }
  return {
    shouldShed(priority) {
      // An unknown priority counts as low: shedding an unlabeled request first is the safe side.
      return table[source.status][priority] ?? table[source.status].low!
    },
  }
}
