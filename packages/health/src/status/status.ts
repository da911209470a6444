/** The monitor's verdict on the process: it decides load shedding and alerts. */
export type HealthStatus = 'healthy' | 'degraded' | 'critical'

/** `application/health+json` status words (IETF health check draft). */
export type HealthJsonStatus = 'pass' | 'warn' | 'fail'

/** Every status, best first; the index is the severity. */
export const STATUSES: readonly HealthStatus[] = ['healthy', 'degraded', 'critical']

/** 0 for healthy, 1 for degraded, 2 for critical. */
export function severity(status: HealthStatus): number {
  return status === 'healthy' ? 0 : status === 'degraded' ? 1 : 2
}

/** The worse of two statuses. */
export function worse(a: HealthStatus, b: HealthStatus): HealthStatus {
  return severity(a) >= severity(b) ? a : b
}

/** healthy → pass, degraded → warn, critical → fail. */
export function toHealthJsonStatus(status: HealthStatus): HealthJsonStatus {
  return status === 'healthy' ? 'pass' : status === 'degraded' ? 'warn' : 'fail'
}
