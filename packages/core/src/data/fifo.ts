/**
 * An array-backed FIFO with a moving head: `push` and `shift` are O(1) amortised and,
 * unlike `Array.prototype.shift`, never move the remaining items. Waiter lists and
 * priority buckets use it at any depth.
 *
 * @example
 * const waiters = new Fifo<() => void>()
 * waiters.push(resume)
 * waiters.shift()?.()
 */
export class Fifo<T> {
  #items: (T | undefined)[] = []
  #head = 0

  get length(): number {
    return this.#items.length - this.#head
  }

  push(item: T): void {
    this.#items.push(item)
  }

  /** The oldest item, left in place. */
  peek(): T | undefined {
    return this.#items[this.#head]
  }

  shift(): T | undefined {
    if (this.#head >= this.#items.length) return undefined
    const item = this.#items[this.#head]
    this.#items[this.#head++] = undefined
    if (this.#head === this.#items.length) {
      this.#items = []
      this.#head = 0
    } else if (this.#head > 1024 && this.#head * 2 > this.#items.length) {
      // Compact once the dead prefix outweighs the live part: amortised O(1), bounded memory.
      this.#items = this.#items.slice(this.#head)
      this.#head = 0
    }
    return item
  }

  /** Removes every item and returns them, oldest first. */
  clear(): T[] {
    const rest = this.#items.slice(this.#head) as T[]
    this.#items = []
    this.#head = 0
    return rest
  }
}
