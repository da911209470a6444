// The limiter's priority partitions and the calls waiting in them. Each partition has a
// share of the limit it is guaranteed and a FIFO of waiters; this module owns both, so
// the counts (waiting per partition and in all, in flight per partition) always agree
// with the queues, and a waiter leaves its queue exactly once.
import { Fifo } from '@headroom/core'
import type { PartitionStats } from './types.js'

/** A call waiting for a slot, as the limiter hands it over. */
export interface WaiterInit {
  readonly deadline: number
  readonly enqueuedAt: number
  /** Runs once a slot is taken for the waiter (resolves a lease, or starts run()'s work). */
  readonly start: () => void
  readonly reject: (error: unknown) => void
}

/** A waiting call; `partition` is where it waits. */
export interface Waiter extends WaiterInit {
  readonly partition: Partition
}

interface Entry extends Waiter {
  settled: boolean
}

/** One partition: its share of the limit, its counters and its queue. */
export class Partition {
  readonly name: string
  readonly #share: number
  #guaranteed = 1
  #inflight = 0
  #admitted = 0
  #rejected = 0
  /** Live waiters (the FIFO may still hold settled ones, dropped lazily off the front). */
  #queued = 0
  readonly #waiters = new Fifo<Entry>()

  constructor(name: string, share: number) {
    this.name = name
    this.#share = share
  }

  /** A slot was taken for this partition. */
  admit(): void {
    this.#inflight++
    this.#admitted++
  }

  /** A slot of this partition was freed. */
  release(): void {
    this.#inflight--
  }

  /** A call for this partition was refused. */
  refused(): void {
    this.#rejected++
  }

  stats(): PartitionStats {
    return {
      guaranteed: this.#guaranteed,
      inflight: this.#inflight,
      queued: this.#queued,
      admitted: this.#admitted,
      rejected: this.#rejected,
    }
  }

  /** @internal Only {@link Partitions} calls the methods below. */
  guarantee(limit: number): void {
    this.#guaranteed = Math.max(1, Math.ceil(limit * this.#share))
  }

  get belowShare(): boolean {
    return this.#inflight < this.#guaranteed
  }

  get hasWaiters(): boolean {
    return this.#queued > 0
  }

  wait(entry: Entry): void {
    this.#waiters.push(entry)
    this.#queued++
  }

  /** Marks a waiter as gone (it stays in the FIFO until it reaches the front). */
  settle(entry: Entry): void {
    entry.settled = true
    this.#queued--
  }

  /** The next live waiter, dropping settled ones off the front. */
  head(): Entry | undefined {
    let head = this.#waiters.peek()
    while (head?.settled) {
      this.#waiters.shift()
      head = this.#waiters.peek()
    }
    return head
  }

  /** Takes the front waiter off the queue and settles it. */
  shift(): Entry | undefined {
    const head = this.head()
    if (!head) return undefined
    this.#waiters.shift()
    this.settle(head)
    return head
  }

  /** Takes every live waiter off the queue. */
  drain(): Entry[] {
    const live: Entry[] = []
    for (const entry of this.#waiters.clear()) {
      if (entry.settled) continue
      this.settle(entry)
      live.push(entry)
    }
    return live
  }
}

/** The partitions in priority order (the options' key order), from `{ name: share }`. */
export class Partitions {
  readonly #list: readonly Partition[]
  readonly #byName: ReadonlyMap<string, Partition>
  readonly #first: Partition
  #queued = 0

  constructor(shares: Readonly<Record<string, number>>, limit: number) {
    this.#list = Object.entries(shares).map(([name, share]) => new Partition(name, share))
    this.#byName = new Map(this.#list.map((partition) => [partition.name, partition]))
    this.#first = this.#list[0]!
    this.setLimit(limit)
  }

  /** Calls waiting in all partitions. */
  get queued(): number {
    return this.#queued
  }

  /** The partition a call names: the first when it names none, a TypeError for an unknown name. */
  lookup(name: string | undefined): Partition | TypeError {
    if (name === undefined) return this.#first
    return (
      this.#byName.get(name) ??
      new TypeError(`Unknown partition "${name}" (partitions: ${this.#list.map((p) => p.name).join(', ')})`)
    )
  }

  /** Recomputes each partition's guaranteed slots for a new limit. */
  setLimit(limit: number): void {
    for (const partition of this.#list) partition.guarantee(limit)
  }

  enqueue(partition: Partition, init: WaiterInit): Waiter {
    // Field by field, not a spread: this runs for every queued call, and a spread costs
    // several times as much on the limiter's hot path.
    const entry: Entry = {
      partition,
      deadline: init.deadline,
      enqueuedAt: init.enqueuedAt,
      start: init.start,
      reject: init.reject,
      settled: false,
    }
    partition.wait(entry)
    this.#queued++
    return entry
  }

  /** Takes a waiter out before its turn (its signal aborted); false when it already left. */
  cancel(waiter: Waiter): boolean {
    const entry = waiter as Entry
    if (entry.settled) return false
    entry.partition.settle(entry)
    this.#queued--
    return true
  }

  /**
   * Takes the waiter that gets the next free slot off its queue: the first partition
   * below its guaranteed share that has waiters, so batch work is never starved, else
   * the first partition (in priority order) that has waiters.
   */
  next(): Waiter | undefined {
    const waiter = this.#nextPartition()?.shift()
    if (waiter) this.#queued--
    return waiter
  }

  #nextPartition(): Partition | undefined {
    for (const partition of this.#list) if (partition.hasWaiters && partition.belowShare) return partition
    for (const partition of this.#list) if (partition.hasWaiters) return partition
    return undefined
  }

  /** The earliest deadline of a waiting call (deadlines are FIFO within a partition). */
  earliestDeadline(): number {
    let earliest = Number.POSITIVE_INFINITY
    for (const partition of this.#list) {
      const head = partition.head()
      if (head && head.deadline < earliest) earliest = head.deadline
    }
    return earliest
  }

  /** Takes one waiter whose deadline is `at` or before off its queue, or undefined when none is. */
  shiftExpired(at: number): Waiter | undefined {
    for (const partition of this.#list) {
      const head = partition.head()
      if (head && head.deadline <= at) {
        partition.shift()
        this.#queued--
        return head
      }
    }
    return undefined
  }

  /** Takes every waiter off every queue (the limiter closed). */
  drain(): Waiter[] {
    const all = this.#list.flatMap((partition) => partition.drain())
    this.#queued = 0
    return all
  }

  stats(): Record<string, PartitionStats> {
    const byPartition: Record<string, PartitionStats> = {}
    for (const partition of this.#list) byPartition[partition.name] = partition.stats()
    return byPartition
  }
}
