// Which hub a shared breaker talks to, and on what terms: a registry's hub, the one
// given in `shared.hub`, or one made from `shared.redis` (then the breaker closes it).

import { createBreakerHub } from '../shared/hub.js'
import type { BreakerHub } from '../shared/hub-types.js'
import type { BreakerContext } from './context.js'
import { probeLeaseMs, type ResolvedBreakerOptions } from './options.js'

export interface SharedHub {
  hub: BreakerHub
  /** True when the breaker made the hub, so its `close()` closes it. */
  ownsHub: boolean
  /** Fleet-wide name of the breaker on the hub. */
  sharedName: string
  /** How long a half-open probe lease lasts before it must be renewed. */
  leaseMs: number
}

/** The breaker's hub, or undefined for a breaker that keeps its state to itself. */
export function resolveSharedHub(
  o: ResolvedBreakerOptions,
  context: BreakerContext,
  name: string,
): SharedHub | undefined {
  let hub = context.hub
  let ownsHub = false
  if (!hub && o.shared) {
    hub =
      o.shared.hub ??
      createBreakerHub({
        redis: o.shared.redis!,
        ...(o.shared.prefix ? { prefix: o.shared.prefix } : {}),
        clock: o.clock,
        ...(o.logger ? { logger: o.logger } : {}),
      })
    ownsHub = o.shared.hub === undefined
  }
  if (!hub) return undefined
  return {
    hub,
    ownsHub,
    sharedName: context.sharedName ?? o.shared?.name ?? name,
    leaseMs: probeLeaseMs(o),
  }
}
