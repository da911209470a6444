// How a job's error is stored with it: JSON that survives the trip through Redis, keeping
// the Headroom error code (if any) so callers can tell failures apart later.
import { isHeadroomError } from '@headroom/core'

export function errorJson(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error)
  const code = isHeadroomError(error) ? error.code : undefined
  return JSON.stringify(code ? { message, code } : { message })
}
