// Auto-recovery: an explicit write, delete or tag invalidation that Redis (or the bus) did
// not take because of a transient failure is queued here and replayed once Redis answers
// again, before the failure gate lets traffic through. The queue is bounded and keeps the
// latest operation per key (or tag), by the cache's clock; a replay never replaces an
// entry written later (the store's conditional scripts), and announces what it changed on
// the bus so the other instances drop their L1 copies.

import { type Logger, TimeoutError } from '@headroom/core'
import type { CacheSignals } from '../metrics/cache-signals.js'
import type { RedisStore } from '../tiers/redis-store.js'
import type { TimerSet } from '../time/timer-set.js'
import type { RecoveryDropReason, RecoveryOperation, RecoveryOutcome } from '../types.js'
import type { BusMessage } from './bus.js'
import type { LocalInvalidation } from './l1-coherence.js'

/** One operation waiting for Redis. `at`: when it was issued, by the cache's clock. */
export type RecoveryOp =
  | {
      operation: 'set'
      key: string
      at: number
      payload: string
      pxMs: number
      tags: string[] | undefined
      /** Past this (the entry's grace end) replaying it would write nothing servable. */
      staleUntil: number
      written: number | undefined
      /** Redis took it; only the bus message is still owed. */
      stored?: RecoveryOutcome
    }
  | { operation: 'delete'; key: string; at: number; stored?: RecoveryOutcome }
  | { operation: 'invalidate-tags'; tag: string; at: number; stored?: RecoveryOutcome }

/** The `recovery` option after defaults. */
export interface RecoverySettings {
  policy: 'recover' | 'throw'
  maxItems: number
}

export interface Recovery {
  /**
   * Deals with a failed explicit operation: under `'throw'`, or for an error retrying
   * cannot fix (a Redis reply error such as WRONGTYPE), it rethrows; else it queues `op`.
   */
  failed(op: RecoveryOp, error: unknown): void
  readonly pending: number
  close(): void
}

export interface RecoveryOptions {
  settings: RecoverySettings
  store: RedisStore
  /** Publishes on the bus, throwing on failure. */
  send(message: BusMessage): Promise<void>
  /**
   * Drops this instance's L1 copies of a key or of a tag's entries once a replay changed
   * L2: while the operation waited, this instance may have read the old entry back.
   */
  loads: Pick<LocalInvalidation, 'invalidateKey' | 'invalidateTags'>
  now(): number
  /**
   * Longest one replayed operation may take, its Redis commands and its bus message
   * together. A replay runs as the failure gate's probe: one that never settled would keep
   * the gate from ever probing again, so each operation gives up past this, whatever it
   * awaits.
   */
  operationDeadlineMs: number
  timers: TimerSet
  logger: Logger
  signals: CacheSignals
}

/** How long after a failure (and between attempts) a replay is tried. */
const RETRY_MS = 250

/** Reply errors that say "try again later" rather than "this command is wrong". */
const RETRYABLE_REPLY = /^(LOADING|BUSY|TRYAGAIN|CLUSTERDOWN|MASTERDOWN|READONLY|NOREPLICAS|MOVED|ASK)\b/

/**
 * True when retrying later may succeed: timeouts, refused or lost connections, an open
 * failure gate, a Cluster in failover. A Redis reply error such as WRONGTYPE or OOM says
 * the command itself is refused, and is not.
 */
export function isTransient(error: unknown): boolean {
  if (!(error instanceof Error)) return false
  if (error.name === 'ReplyError') return RETRYABLE_REPLY.test(error.message)
  return true
}

const idOf = (op: RecoveryOp) => (op.operation === 'invalidate-tags' ? `t\0${op.tag}` : `k\0${op.key}`)

const describe = (op: RecoveryOp) =>
  op.operation === 'invalidate-tags'
    ? { operation: op.operation as RecoveryOperation, tags: [op.tag] }
    : { operation: op.operation as RecoveryOperation, key: op.key }

export function createRecovery(options: RecoveryOptions): Recovery {
  const { settings, store, send, signals, timers, logger } = options
  // Insertion order is queueing order: a replaced operation moves to the end.
  const ops = new Map<string, RecoveryOp>()
  let timer: unknown
  let running: Promise<boolean> | undefined
  let closed = false
  let overflowLogged = false

  const drop = (op: RecoveryOp, reason: RecoveryDropReason) => {
    signals.recoveryEvent('recovery-dropped', { ...describe(op), reason })
  }

  function schedule(): void {
    if (closed || timer !== undefined || ops.size === 0) return
    timer = timers.start(() => {
      timer = undefined
      if (ops.size === 0) return
      if (!store.recover(run)) schedule()
    }, RETRY_MS)
  }

  /** One replay at a time; the next attempt is scheduled while anything is left. */
  function run(): Promise<boolean> {
    if (running) return running
    running = replay().finally(() => {
      running = undefined
      schedule()
    })
    return running
  }

  /** `apply`, rejecting with a timeout past `operationDeadlineMs`. */
  function applyWithin(op: RecoveryOp): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const deadline = timers.start(
        () =>
          reject(
            new TimeoutError(
              `cache auto-recovery: replay of one operation took over ${options.operationDeadlineMs} ms`,
            ),
          ),
        options.operationDeadlineMs,
      )
      apply(op).then(
        () => {
          timers.stop(deadline)
          resolve()
        },
        (error: unknown) => {
          timers.stop(deadline)
          reject(error)
        },
      )
    })
  }

  async function apply(op: RecoveryOp): Promise<void> {
    if (op.stored === undefined) {
      if (op.operation === 'set') {
        op.stored = await store.replaySet(op.key, {
          payload: op.payload,
          pxMs: op.pxMs,
          tags: op.tags,
          writtenAt: op.at,
        })
      } else if (op.operation === 'delete') {
        op.stored = (await store.replayDelete(op.key, op.at)) ? 'applied' : 'newer-in-l2'
      } else {
        await store.replayInvalidateTag(op.tag, op.at)
        op.stored = 'applied'
      }
      if (op.operation === 'invalidate-tags') options.loads.invalidateTags([op.tag])
      else options.loads.invalidateKey(op.key)
    }
    // Peers that read the old entry drop it; a newer entry already had its own message.
    if (op.operation === 'invalidate-tags') await send({ tags: [op.tag] })
    else if (op.stored === 'applied' && op.operation === 'set')
      await send({ keys: [op.key], written: op.written })
    else if (op.stored !== 'newer-in-l2') await send({ keys: [op.key] })
  }

  /**
   * Replays what is queued when it starts, oldest first by the cache's clock; false at the
   * first transient failure. Operations queued meanwhile (the gate refuses writes while
   * this replay is its probe) wait for the next attempt, scheduled as soon as this one
   * ends: under steady writes a replay that took them too might never end, and the gate
   * would never close.
   */
  async function replay(): Promise<boolean> {
    const batch = [...ops.values()].sort((x, y) => x.at - y.at)
    for (const op of batch) {
      if (closed) return false
      const id = idOf(op)
      if (ops.get(id) !== op) continue
      if (op.operation === 'set' && op.stored === undefined && options.now() >= op.staleUntil) {
        ops.delete(id)
        drop(op, 'expired')
        continue
      }
      try {
        await applyWithin(op)
      } catch (error) {
        signals.storeError('recovery', error)
        if (isTransient(error)) return false
        if (ops.get(id) === op) ops.delete(id)
        drop(op, 'error')
        continue
      }
      if (ops.get(id) === op) ops.delete(id)
      signals.recoveryEvent('recovery-replayed', { ...describe(op), outcome: op.stored ?? 'applied' })
    }
    return true
  }

  function queue(op: RecoveryOp): void {
    signals.recoveryQueued()
    const id = idOf(op)
    const queued = ops.get(id)
    // Latest wins per key, by the clock: a later operation replaces an earlier one.
    if (queued !== undefined && queued.at > op.at) return
    ops.delete(id)
    ops.set(id, op)
    signals.recoveryEvent('recovery-queued', describe(op))
    if (ops.size > settings.maxItems) {
      const [oldestId, oldest] = ops.entries().next().value as [string, RecoveryOp]
      ops.delete(oldestId)
      drop(oldest, 'overflow')
      if (!overflowLogged) {
        overflowLogged = true
        logger.warn(
          { maxItems: settings.maxItems },
          'cache auto-recovery queue full: the oldest queued operations are dropped',
        )
      }
    }
    schedule()
  }

  store.beforeReopen = () => (ops.size > 0 ? run() : undefined)

  return {
    failed(op, error) {
      if (settings.policy === 'throw' || !isTransient(error)) throw error
      queue(op)
    },
    get pending() {
      return ops.size
    },
    close() {
      closed = true
      if (ops.size > 0) {
        logger.warn({ pending: ops.size }, 'cache closed with operations still queued for Redis')
      }
      for (const op of ops.values()) drop(op, 'closed')
      ops.clear()
    },
  }
}
