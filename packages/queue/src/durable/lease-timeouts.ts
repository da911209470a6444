// Per-attempt job timeouts: one timer per group of leases claimed together with the same
// timeout (see TimeoutGroup), rather than a timer per job.
import { type Clock, TimeoutError } from '@headroom/core'
import type { Lease, TimeoutGroup } from './lease.js'

/** `expire` settles a lease whose job ran past its timeout (its signal is aborted already). */
export function createLeaseTimeouts(clock: Clock, expire: (lease: Lease, error: unknown) => void) {
  const armTimeout = (group: TimeoutGroup) => {
    if (group.left === 0) return
    group.timer = clock.setTimeout(() => {
      group.timer = undefined
      for (const lease of group.leases) {
        if (lease.done) continue
        const error = new TimeoutError(`Job "${lease.name}" (${lease.id}) timed out after ${group.ms} ms`)
        lease.controller?.abort(error)
        expire(lease, error)
      }
    }, group.ms)
  }

  /** Leaves the lease's timeout group; the last one out clears its timer. */
  const leaveTimeout = (lease: Lease) => {
    const group = lease.timeouts
    if (group === undefined) return
    lease.timeouts = undefined
    if (--group.left === 0 && group.timer !== undefined) {
      clock.clearTimeout(group.timer)
      group.timer = undefined
    }
  }

  return { armTimeout, leaveTimeout }
}
