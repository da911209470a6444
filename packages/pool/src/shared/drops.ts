import { isHeadroomError } from '@headroom/core'

/**
 * Postgres error codes that mean "the database is overloaded or contended": the
 * limit should shrink, as for a timeout. 57014 query_canceled (statement_timeout),
 * 53300 too_many_connections, 53400 configuration_limit_exceeded, 55P03 lock_not_available,
 * 40001 serialization_failure, 40P01 deadlock_detected.
 */
const OVERLOAD_SQLSTATES = new Set(['57014', '53300', '53400', '55P03', '40001', '40P01'])

/**
 * The default answer to "was this failure a drop?": timeouts (Headroom's `E_TIMEOUT`,
 * pg's acquire and connection timeouts, `ETIMEDOUT`), overload (`E_OVERLOADED`) and the
 * Postgres codes of contention above. Other errors (a syntax error, a missing row) say
 * nothing about load and are ignored by the algorithms.
 *
 * @example
 * createAdaptiveLimiter({ isDrop: (error) => isDropError(error) || error instanceof MyTimeout })
 */
export function isDropError(error: unknown): boolean {
  if (isHeadroomError(error, 'E_TIMEOUT') || isHeadroomError(error, 'E_OVERLOADED')) return true
  if (typeof error !== 'object' || error === null) return false
  const { code, message, name } = error as { code?: unknown; message?: unknown; name?: unknown }
  if (typeof code === 'string' && (OVERLOAD_SQLSTATES.has(code) || code === 'ETIMEDOUT')) return true
  if (name === 'TimeoutError') return true
  return typeof message === 'string' && /time(?:d)? ?out|timeout exceeded/i.test(message)
}
