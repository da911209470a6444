// What a worker reports for an attempt that failed: a retry after its backoff, or the
// dead-letter state once its attempts are spent or its error says retrying is futile.
import { isHeadroomError } from '@headroom/core'
import type { Settlement } from '../store/job-store.js'
import { backoffDelay, type ResolvedRetry } from './backoff.js'
import { errorJson } from './error-json.js'
import type { Lease } from './lease.js'

export function failureSettlement(lease: Lease, error: unknown, retry: ResolvedRetry): Settlement {
  const unrecoverable =
    isHeadroomError(error, 'E_UNRECOVERABLE') || isHeadroomError(error, 'E_UNKNOWN_HANDLER')
  if (unrecoverable || lease.attempt >= lease.maxAttempts) {
    return { id: lease.id, token: lease.token, outcome: 'dead', error: errorJson(error) }
  }
  return {
    id: lease.id,
    token: lease.token,
    outcome: 'retry',
    error: errorJson(error),
    delayMs: backoffDelay(retry, lease.attempt),
  }
}
