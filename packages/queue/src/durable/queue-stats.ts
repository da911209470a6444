// A queue's stats(): the store's counts beside this process's counters and latencies.
import type { StoreCounts } from '../store/job-store.js'
import type { QueueInternals } from './queue-internals.js'
import type { Shedding } from './queue-shedding.js'
import type { QueueStats } from './queue-types.js'

/** `added` counts the jobs this process added; `counts` is the store's answer. */
export function queueStats(
  internals: QueueInternals,
  counts: StoreCounts,
  added: number,
  shedding: Shedding,
): QueueStats {
  const { counters } = internals
  return {
    name: internals.options.name,
    store: internals.store.kind,
    waiting: counts.waiting,
    delayed: counts.delayed,
    active: counts.active,
    completed: counts.completed,
    failed: counts.failed,
    oldestWaitMs: counts.oldestReadyAt === undefined ? 0 : Math.max(0, counts.now - counts.oldestReadyAt),
    added,
    processed: counters.processed,
    failures: counters.failures,
    retries: counters.retries,
    stalled: counters.stalled,
    leaseLost: counters.leaseLost,
    shedding: {
      critical: shedding.critical(),
      refused: shedding.refused(),
      deferredClaims: counters.deferredClaims,
    },
    waitTime: internals.waitTime.summary(),
    runTime: internals.runTime.summary(),
  }
}
