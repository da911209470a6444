import { type Clock, Fifo } from '@headroom/core'
import { MinHeap } from '../shared/heap.js'
import { LEVEL_SCORE } from '../shared/priority.js'
import type {
  ClaimedJob,
  ClaimOptions,
  ClaimResult,
  JobStore,
  NewJob,
  Settlement,
  StoreConfig,
  StoreCounts,
} from '../store/job-store.js'
import { decodePayload } from '../store/payload.js'
import { createMemoryAdmin } from './admin.js'
import { createMemoryEventLog } from './event-log.js'
import {
  byKey,
  countWaiting,
  type Entry,
  type MemoryJob,
  memoryJobFields,
  newMemoryJob,
  stalledError,
} from './job.js'
import { createMemoryScheduling } from './scheduling.js'

/**
 * The in-process store: the same semantics as the Redis store (priority order,
 * leases, fencing, retention, aging) for a single process, with heaps whose stale
 * entries are skipped lazily so every operation stays O(log n).
 */
export function createMemoryStore(config: StoreConfig, clock: Clock): JobStore {
  const jobs = new Map<string, MemoryJob>()
  const wait = new MinHeap<Entry>(byKey)
  const delayed = new MinHeap<Entry>(byKey)
  const leases = new MinHeap<Entry>(byKey)
  const aged = new Fifo<Entry>()
  const completed = new Fifo<Entry>()
  const failed = new Fifo<Entry>()
  const listeners = new Set<() => void>()
  let seq = 0
  let fence = 0
  let waiting = 0
  let delayedCount = 0
  let activeCount = 0
  let completedCount = 0
  let failedCount = 0
  let finishOrder = 0
  // The same events, with the same fields, as the Redis scripts XADD (see redis/scripts/).
  const log = config.eventsMaxLen > 0 ? createMemoryEventLog(config.eventsMaxLen, clock) : undefined

  const live = (entry: Entry, state: MemoryJob['st']) =>
    entry.gen === entry.job.gen && entry.job.st === state && jobs.get(entry.job.id) === entry.job

  const move = (job: MemoryJob, state: MemoryJob['st']) => {
    if (job.st === 'w') waiting--
    else if (job.st === 'd') delayedCount--
    else if (job.st === 'a') activeCount--
    else if (job.st === 'c') completedCount--
    else if (job.st === 'f') failedCount--
    job.st = state
    job.gen++
    if (state === 'w') waiting++
    else if (state === 'd') delayedCount++
    else if (state === 'a') activeCount++
    else if (state === 'c') completedCount++
    else if (state === 'f') failedCount++
  }

  /** Deletes a job for good (retention, remove, clean): it leaves every count. */
  const discard = (job: MemoryJob) => {
    move(job, 'x')
    jobs.delete(job.id)
  }

  const requeue = (job: MemoryJob, readyAt: number) => {
    move(job, 'w')
    job.rt = readyAt
    wait.push({ job, key: job.w, gen: job.gen })
    if (config.agingMs > 0) aged.push({ job, key: readyAt, gen: job.gen })
  }

  const finish = (job: MemoryJob, state: 'c' | 'f', now: number) => {
    const rule = state === 'c' ? config.completed : config.failed
    const list = state === 'c' ? completed : failed
    move(job, state)
    job.f = now
    job.fo = ++finishOrder
    if (rule.count === 0) {
      discard(job)
      return
    }
    list.push({ job, key: now, gen: job.gen })
    // Entries of jobs retried or removed since they finished are stale: skipped, not counted.
    while ((state === 'c' ? completedCount : failedCount) > rule.count) {
      const head = list.shift()!
      if (live(head, state)) discard(head.job)
    }
    if (rule.ageMs > 0) {
      for (let head = list.peek(); head && head.key <= now - rule.ageMs; head = list.peek()) {
        list.shift()
        if (live(head, state)) discard(head.job)
      }
    }
  }

  const promoteAndRecover = (now: number, stalled: string[]) => {
    for (let top = delayed.peek(); top && top.key <= now; top = delayed.peek()) {
      delayed.pop()
      if (live(top, 'd')) requeue(top.job, top.key)
    }
    for (let top = leases.peek(); top && top.key <= now; top = leases.peek()) {
      leases.pop()
      if (!live(top, 'a')) continue
      const job = top.job
      job.k = undefined
      job.s++
      stalled.push(job.id)
      log?.append('stalled', job.id)
      if (job.s > config.maxStalls) {
        job.e = stalledError(job.s)
        log?.append('failed', job.id, job.e)
        finish(job, 'f', now)
      } else requeue(job, job.rt)
    }
  }

  const take = (job: MemoryJob, now: number, leaseMs: number, out: ClaimedJob[]) => {
    move(job, 'a')
    job.a++
    job.k = String(++fence)
    leases.push({ job, key: now + leaseMs, gen: job.gen })
    out.push({ id: job.id, payload: job.payload, attempt: job.a, token: job.k, readyAt: job.rt })
    log?.append('active', job.id, String(job.a))
  }

  const settleNow = (settlements: readonly Settlement[]): boolean[] => {
    const now = clock.now()
    let ready = false
    const result = settlements.map((s) => {
      const job = jobs.get(s.id)
      if (job === undefined) return false
      if (job.st !== 'a' || job.k !== s.token) return false
      job.k = undefined
      switch (s.outcome) {
        case 'completed':
          log?.append('completed', s.id, s.result ?? '')
          if (s.result !== undefined) job.r = s.result
          finish(job, 'c', now)
          break
        case 'dead':
          log?.append('failed', s.id, s.error)
          job.e = s.error
          finish(job, 'f', now)
          break
        case 'retry':
          log?.append('retrying', s.id, s.error, String(Math.round(s.delayMs)))
          job.e = s.error
          if (s.delayMs > 0) {
            move(job, 'd')
            // Its due time, as a delayed job added with a delay keeps it (listing orders by it).
            job.rt = now + s.delayMs
            delayed.push({ job, key: job.rt, gen: job.gen })
          } else {
            requeue(job, now)
            ready = true
          }
          break
        case 'release':
          job.a--
          requeue(job, job.rt)
          ready = true
          break
      }
      return true
    })
    if (ready) for (const listener of listeners) listener()
    return result
  }

  const add = async (newJobs: readonly NewJob[]) => {
    const now = clock.now()
    const ids: string[] = []
    let added = false
    for (const input of newJobs) {
      const sequence = ++seq
      const id = input.id === '' ? String(sequence) : input.id
      ids.push(id)
      if (jobs.has(id)) continue
      const job = newMemoryJob(id, input, sequence, now)
      jobs.set(id, job)
      added = true
      // The name JSON-escaped, as the Redis script cuts it from the payload.
      log?.append(
        'added',
        id,
        JSON.stringify(decodePayload(input.payload).name).slice(1, -1),
        String(input.delayMs),
      )
      if (input.delayMs > 0) {
        move(job, 'd')
        delayed.push({ job, key: job.rt, gen: job.gen })
      } else requeue(job, now)
    }
    // Delayed jobs too: an idle worker then waits until the earliest one is due.
    if (added) for (const listener of listeners) listener()
    return ids
  }

  // Scheduling: job schedulers, pause, rate limit, idle wake-ups.
  const scheduling = createMemoryScheduling({
    config,
    clock,
    add,
    dropDelayed(id) {
      const job = jobs.get(id)
      if (job?.st !== 'd') return false
      move(job, 'c')
      jobs.delete(id)
      return true
    },
    pending(id) {
      const state = jobs.get(id)?.st
      return state === 'd' || state === 'w'
    },
    onAvailable(listener) {
      listeners.add(listener)
      return () => listeners.delete(listener)
    },
    wake() {
      for (const listener of listeners) listener()
    },
  })
  /** Ms until the earliest delayed job is due or lease expires (stale heap entries only wake early). */
  const wakeIn = (now: number, limited: number | undefined): number | undefined => {
    let at = limited === undefined ? undefined : now + limited
    const due = scheduling.paused ? undefined : delayed.peek()?.key
    if (due !== undefined && (at === undefined || due < at)) at = due
    const lease = leases.peek()?.key
    if (lease !== undefined && (at === undefined || lease < at)) at = lease
    return at === undefined ? undefined : Math.max(0, at - now)
  }

  return {
    kind: 'memory',
    add,
    ...scheduling.methods,

    async claim({ count, leaseMs, maxPriority, settle }: ClaimOptions): Promise<ClaimResult> {
      const settled = settle === undefined || settle.length === 0 ? [] : settleNow(settle)
      const now = clock.now()
      const stalled: string[] = []
      promoteAndRecover(now, stalled)
      const out: ClaimedJob[] = []
      const allowed = scheduling.allowance(count, now)
      const limit = allowed.count
      if (config.agingMs > 0) {
        for (let head = aged.peek(); head && out.length < limit; head = aged.peek()) {
          if (!live(head, 'w')) {
            aged.shift()
            continue
          }
          if (head.key > now - config.agingMs) break
          aged.shift()
          take(head.job, now, leaseMs, out)
        }
      }
      const maxScore = maxPriority === undefined ? Number.POSITIVE_INFINITY : (maxPriority + 1) * LEVEL_SCORE
      while (out.length < limit) {
        const top = wait.peek()
        if (!top) break
        if (!live(top, 'w')) {
          wait.pop()
          continue
        }
        if (top.key >= maxScore) break
        wait.pop()
        take(top.job, now, leaseMs, out)
      }
      scheduling.spend(out.length, now)
      if (out.length < count) {
        // Short because the rate limit is now spent: wake when it frees a slot.
        const limited = allowed.wakeInMs ?? scheduling.allowance(1, now).wakeInMs
        return { now, jobs: out, stalled, settled, wakeInMs: wakeIn(now, limited) }
      }
      return { now, jobs: out, stalled, settled }
    },

    async extend(held, leaseMs) {
      const now = clock.now()
      const lost: string[] = []
      for (const { id, token } of held) {
        const job = jobs.get(id)
        if (!job || job.k !== token) {
          lost.push(id)
          continue
        }
        job.gen++
        leases.push({ job, key: now + leaseMs, gen: job.gen })
      }
      return lost
    },

    async settle(settlements: readonly Settlement[]) {
      return settleNow(settlements)
    },

    async progress(id, token, value) {
      const job = jobs.get(id)
      if (job?.st !== 'a' || job.k !== token) return false
      job.pg = value
      log?.append('progress', id, value)
      return true
    },

    openEvents() {
      if (!log) throw new TypeError('This queue records no events: create it with `events: true`')
      return log.reader()
    },

    async getJob(id) {
      const job = jobs.get(id)
      if (!job) return undefined
      return { payload: job.payload, fields: memoryJobFields(job) }
    },

    async counts(): Promise<StoreCounts> {
      const now = clock.now()
      // O(n) in the jobs held; stats() is for dashboards, not hot paths.
      const { waiting: waitingByLevel, oldestReadyAt } = countWaiting(waiting === 0 ? [] : jobs.values())
      return {
        now,
        waiting: waitingByLevel,
        delayed: delayedCount,
        active: activeCount,
        completed: completedCount,
        failed: failedCount,
        oldestReadyAt,
      }
    },

    onAvailable(listener) {
      listeners.add(listener)
      return () => listeners.delete(listener)
    },

    async obliterate() {
      jobs.clear()
      wait.clear()
      delayed.clear()
      leases.clear()
      aged.clear()
      completed.clear()
      failed.clear()
      waiting = delayedCount = activeCount = completedCount = failedCount = 0
      log?.clear()
    },

    close() {
      listeners.clear()
      log?.close()
    },

    // Operator verbs: O(n) scans of this process's jobs, as stats() is.
    admin: createMemoryAdmin({
      jobs: () => jobs.values(),
      get: (id) => jobs.get(id),
      now: () => clock.now(),
      discard,
      retry(job) {
        job.a = 0
        job.s = 0
        delete job.e
        delete job.r
        requeue(job, clock.now())
        for (const listener of listeners) listener()
      },
    }),
  }
}
