import {
  CircuitOpenError,
  ClosedError,
  type HeadroomError,
  isHeadroomError,
  OverloadedError,
  TimeoutError,
} from '@headroom/core'

export { CircuitOpenError, ClosedError, OverloadedError, TimeoutError }

/** True when the breaker refused the call because it is open (or half-open with its probes taken). */
export function isCircuitOpenError(error: unknown): error is HeadroomError<'E_CIRCUIT_OPEN'> {
  return isHeadroomError(error, 'E_CIRCUIT_OPEN')
}

/** The codes opossum puts on the errors it makes itself. */
const OPOSSUM_TIMEOUT = 'ETIMEDOUT'
const OPOSSUM_SEMAPHORE = 'ESEMLOCKED'
const OPOSSUM_OPEN = 'EOPENBREAKER'

interface OpossumError extends Error {
  code?: string
}

/**
 * Turns one of opossum's own errors into the matching Headroom error (the original as
 * `cause`); any other error (the function's) is returned as it is.
 */
export function toTypedError(error: unknown, name: string, isOurs: (error: Error) => boolean): unknown {
  if (!(error instanceof Error) || !isOurs(error)) return error
  const code = (error as OpossumError).code
  if (code === OPOSSUM_TIMEOUT)
    return new TimeoutError(`Breaker "${name}": ${error.message.toLowerCase()}`, { cause: error })
  if (code === OPOSSUM_SEMAPHORE)
    return new OverloadedError(`Breaker "${name}" is at capacity`, { cause: error })
  if (code === OPOSSUM_OPEN) return new CircuitOpenError(`Breaker "${name}" is open`, { cause: error })
  return error
}

/** True for opossum's capacity refusal, which says nothing about the dependency's health. */
export function isCapacityError(error: unknown): boolean {
  return (error as OpossumError | undefined)?.code === OPOSSUM_SEMAPHORE
}

/** True for opossum's timeout error. */
export function isOpossumTimeout(error: unknown): boolean {
  return (error as OpossumError | undefined)?.code === OPOSSUM_TIMEOUT
}
