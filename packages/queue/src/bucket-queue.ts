import { Fifo } from '@headroom/core'
import { MinHeap } from './heap.js'
import { MAX_PRIORITY } from './priority.js'

/**
 * A priority queue (integer priorities 0..MAX_PRIORITY) made of one FIFO per distinct priority plus a min-heap of the
 * priorities that hold items. Push and pop are O(1) while a priority already has
 * items, O(log k) for k distinct priorities otherwise: cost never grows with depth,
 * and FIFO order within a priority is exact (p-queue's sorted-array insert is O(n)).
 */
export class BucketQueue<T> {
  // Indexed by priority (0..1000): an array slot is cheaper than a Map lookup on every push.
  readonly #buckets: (Fifo<T> | undefined)[] = new Array(MAX_PRIORITY + 1).fill(undefined)
  readonly #active = new MinHeap<number>((a, b) => a < b)
  #size = 0
  // The last bucket pushed to: bulk adds at one priority skip the map lookup.
  #lastPriority = Number.NaN
  #lastBucket: Fifo<T> | undefined

  get size(): number {
    return this.#size
  }

  push(item: T, priority: number): void {
    let bucket: Fifo<T> | undefined
    if (priority === this.#lastPriority) bucket = this.#lastBucket
    else {
      bucket = this.#buckets[priority]
      if (!bucket) {
        bucket = new Fifo<T>()
        this.#buckets[priority] = bucket
      }
      this.#lastPriority = priority
      this.#lastBucket = bucket
    }
    if (bucket!.length === 0) this.#active.push(priority)
    bucket!.push(item)
    this.#size++
  }

  /** The next item, leaving it queued. */
  peek(): T | undefined {
    const priority = this.#active.peek()
    return priority === undefined ? undefined : this.#buckets[priority]!.peek()
  }

  /** The lowest priority that holds an item. */
  peekPriority(): number | undefined {
    return this.#active.peek()
  }

  shift(): T | undefined {
    const priority = this.#active.peek()
    if (priority === undefined) return undefined
    const bucket = this.#buckets[priority]!
    const item = bucket.shift()
    if (bucket.length === 0) this.#active.pop()
    this.#size--
    return item
  }

  /** Removes every item and returns them, in priority order. */
  clear(): T[] {
    const out: T[] = []
    for (let item = this.shift(); item !== undefined; item = this.shift()) out.push(item)
    this.#buckets.fill(undefined)
    this.#lastPriority = Number.NaN
    this.#lastBucket = undefined
    return out
  }
}
