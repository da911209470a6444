// Priority partitions of a limiter and their waiting queues: each partition has a share of
// the limit it is guaranteed, and callers over the limit wait in their partition's FIFO.
import { Fifo } from '@headroom/core'
import type { AcquireOptions, PartitionStats } from './types.js'

export interface Waiter {
  partition: Partition
  deadline: number
  enqueuedAt: number
  settled: boolean
  /** Runs once a slot is taken for the waiter (resolves a lease, or starts run()'s work). */
  start(): void
  reject(error: unknown): void
  signal: AbortSignal | undefined
  onAbort: (() => void) | undefined
}

export interface Partition {
  name: string
  share: number
  guaranteed: number
  inflight: number
  /** Live waiters (the FIFO may still hold settled ones, skipped lazily). */
  queued: number
  admitted: number
  rejected: number
  waiters: Fifo<Waiter>
}

/** The partitions in priority order (the options' key order), from `{ name: share }`. */
export function createPartitions(shares: Record<string, number>): Partition[] {
  return Object.entries(shares).map(([name, share]) => ({
    name,
    share,
    guaranteed: 1,
    inflight: 0,
    queued: 0,
    admitted: 0,
    rejected: 0,
    waiters: new Fifo<Waiter>(),
  }))
}

/** Finds the partition a call names: the first when it names none, a TypeError for an unknown name. */
export function partitionLookup(partitions: readonly Partition[]) {
  const byName = new Map(partitions.map((partition) => [partition.name, partition]))
  const first = partitions[0]!
  return (options: AcquireOptions | undefined): Partition | TypeError => {
    if (options?.partition === undefined) return first
    return (
      byName.get(options.partition) ??
      new TypeError(
        `Unknown partition "${options.partition}" (partitions: ${partitions.map((p) => p.name).join(', ')})`,
      )
    )
  }
}

export function updateGuarantees(partitions: readonly Partition[], limit: number): void {
  for (const partition of partitions) partition.guaranteed = Math.max(1, Math.ceil(limit * partition.share))
}

/** The next live waiter of a partition, dropping settled ones off the front. */
export function headOf(partition: Partition): Waiter | undefined {
  let head = partition.waiters.peek()
  while (head?.settled) {
    partition.waiters.shift()
    head = partition.waiters.peek()
  }
  return head
}

export function nextPartition(partitions: readonly Partition[]): Partition | undefined {
  // A partition under its guaranteed share goes first, so batch work is never starved...
  for (const partition of partitions)
    if (partition.queued > 0 && partition.inflight < partition.guaranteed) return partition
  // ...then priority order.
  for (const partition of partitions) if (partition.queued > 0) return partition
  return undefined
}

export function partitionStats(partitions: readonly Partition[]): Record<string, PartitionStats> {
  const byPartition: Record<string, PartitionStats> = {}
  for (const partition of partitions) {
    byPartition[partition.name] = {
      guaranteed: partition.guaranteed,
      inflight: partition.inflight,
      queued: partition.queued,
      admitted: partition.admitted,
      rejected: partition.rejected,
    }
  }
  return byPartition
}
