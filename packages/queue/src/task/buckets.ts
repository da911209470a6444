import { MinHeap } from '../shared/heap.js'
import { MAX_PRIORITY } from '../shared/priority.js'

const MIN_CHUNK = 16
const MAX_CHUNK = 1024
/** A drained lane keeps its chunk up to this size: a steady trickle allocates nothing. */
const KEEP_CHUNK = 256

/**
 * A run of queued tasks: `items` holds each task's entry and resolve side by side, and
 * a typed array holds enqueue times unboxed (no heap number per task).
 */
class Chunk {
  readonly items: unknown[]
  readonly times: Float64Array
  next: Chunk | undefined = undefined
  constructor(readonly capacity: number) {
    this.items = new Array(capacity * 2)
    this.times = new Float64Array(capacity)
  }
}

/**
 * One priority's FIFO: a list of chunks (growing from 16 to 1024 tasks), read from the
 * head and written at the tail. Growing never copies, and a chunk that has been read
 * out is dropped, so a drained queue holds at most one small chunk.
 */
class Lane {
  head: Chunk = new Chunk(MIN_CHUNK)
  tail: Chunk = this.head
  /** Next read, in `head`. */
  read = 0
  /** Next write, in `tail`. */
  write = 0
  length = 0
}

/**
 * The queued tasks of a task queue, by priority (integers 0..MAX_PRIORITY, lower first):
 * one FIFO lane per distinct priority plus a min-heap of the priorities that hold tasks.
 * Push and shift are O(1) while a priority already holds tasks, O(log k) for k distinct
 * priorities otherwise; FIFO within a priority is exact.
 *
 * A task is stored as three values (its entry, the `resolve` of its promise, its
 * enqueue time), not as an object: with hundreds of thousands of tasks queued the
 * garbage collector copies every live object, so fewer and smaller is faster. `shift`
 * hands a task back through the `entry`, `resolve` and `time` fields (no tuple), and
 * slots are cleared as tasks leave: nothing of a task stays reachable from here.
 */
export class TaskBuckets {
  /** The task the last `shift` returned (cleared by `release`). */
  entry: unknown = undefined
  resolve: unknown = undefined
  time = 0

  // Indexed by priority: an array slot is cheaper than a Map lookup on every push.
  readonly #lanes: (Lane | undefined)[] = new Array(MAX_PRIORITY + 1).fill(undefined)
  readonly #active = new MinHeap<number>((a, b) => a < b)
  #size = 0

  /** Tasks stored (including any the caller has marked cancelled). */
  get size(): number {
    return this.#size
  }

  push(priority: number, entry: unknown, resolve: unknown, time: number): void {
    let lane = this.#lanes[priority]
    if (lane === undefined) {
      lane = new Lane()
      this.#lanes[priority] = lane
    }
    if (lane.length === 0) this.#active.push(priority)
    let chunk = lane.tail
    let at = lane.write
    if (at === chunk.capacity) {
      const next = new Chunk(Math.min(MAX_CHUNK, chunk.capacity * 2))
      chunk.next = next
      lane.tail = chunk = next
      at = 0
    }
    chunk.items[2 * at] = entry
    chunk.items[2 * at + 1] = resolve
    chunk.times[at] = time
    lane.write = at + 1
    lane.length++
    this.#size++
  }

  /** Takes the oldest task of the lowest priority into `entry`/`resolve`/`time`; false when empty. */
  shift(): boolean {
    const priority = this.#active.peek()
    if (priority === undefined) return false
    const lane = this.#lanes[priority]!
    let chunk = lane.head
    let at = lane.read
    if (at === chunk.capacity) {
      lane.head = chunk = chunk.next!
      at = 0
    }
    const items = chunk.items
    this.entry = items[2 * at]
    this.resolve = items[2 * at + 1]
    this.time = chunk.times[at]!
    items[2 * at] = undefined
    items[2 * at + 1] = undefined
    lane.read = at + 1
    this.#size--
    if (--lane.length === 0) {
      this.#active.pop()
      // Empty, so reading has reached the tail chunk: rewind and reuse it, unless it is
      // large (a burst's), which goes back to the GC.
      if (chunk.capacity > KEEP_CHUNK) lane.head = lane.tail = new Chunk(MIN_CHUNK)
      lane.read = 0
      lane.write = 0
    }
    return true
  }

  /** Forgets the task `shift` returned last, so it is not kept alive from here. */
  release(): void {
    this.entry = undefined
    this.resolve = undefined
  }

  /** Removes every task, calling `visit` on each in priority order. */
  drain(visit: (entry: unknown, resolve: unknown) => void): void {
    while (this.shift()) {
      const { entry, resolve } = this
      this.release()
      visit(entry, resolve)
    }
  }
}
