// The memory store's operator verbs. They scan this process's jobs (O(n), like stats()):
// an operator's call, not a hot path. The store owns the jobs; these verbs only read them
// and ask the store to discard or retry one.
import type { RemoveOutcome, StateLetter, StoreAdmin, StoredJob } from '../store/job-store.js'
import { type MemoryJob, memoryJobFields } from './job.js'

export interface MemoryAdminAccess {
  jobs(): Iterable<MemoryJob>
  get(id: string): MemoryJob | undefined
  now(): number
  /** Deletes the job from the store (every count and structure). */
  discard(job: MemoryJob): void
  /** Moves a failed job back to waiting with its attempts, stalls, error and result cleared. */
  retry(job: MemoryJob): void
}

/** The order getJobs lists a state in, oldest first: as the Redis sorted sets are scored. */
function orderOf(state: StateLetter): (a: MemoryJob, b: MemoryJob) => number {
  switch (state) {
    case 'w':
      return (a, b) => a.w - b.w
    case 'd':
      return (a, b) => a.rt - b.rt || a.w - b.w
    case 'a':
      return (a, b) => Number(a.k) - Number(b.k) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)
    default:
      return (a, b) => (a.fo ?? 0) - (b.fo ?? 0)
  }
}

function inState(access: MemoryAdminAccess, state: StateLetter): MemoryJob[] {
  const found: MemoryJob[] = []
  for (const job of access.jobs()) if (job.st === state) found.push(job)
  return found.sort(orderOf(state))
}

export function createMemoryAdmin(access: MemoryAdminAccess): StoreAdmin {
  return {
    async list(state, start, end, asc) {
      const found = inState(access, state)
      if (!asc) found.reverse()
      return found
        .slice(start, end + 1)
        .map((job): StoredJob => ({ id: job.id, payload: job.payload, fields: memoryJobFields(job) }))
    },
    async retryFailed(limit) {
      const found = inState(access, 'f').slice(0, limit)
      for (const job of found) access.retry(job)
      return found.length
    },
    async retryOne(id) {
      const job = access.get(id)
      if (job?.st !== 'f') return false
      access.retry(job)
      return true
    },
    async remove(id): Promise<RemoveOutcome> {
      const job = access.get(id)
      if (!job) return 'missing'
      if (job.st === 'a') return 'active'
      access.discard(job)
      return 'removed'
    },
    async clean(state, ageMs, limit) {
      const cutoff = access.now() - ageMs
      const old = inState(access, state)
        .filter((job) => (job.f ?? 0) <= cutoff)
        .slice(0, limit)
      for (const job of old) access.discard(job)
      return old.map((job) => job.id)
    },
  }
}
