/**
 * Decides which loads an invalidation spoils. A load (an L2 read, a factory run) notes
 * the generation it started at; when it finishes, it may write what it got to L1 and L2
 * only if nothing invalidated it meanwhile. A tag invalidation spoils the loads of keys
 * carrying that tag, not every load in flight: with per-user tags invalidated hundreds of
 * times a second, spoiling every load would leave nothing cached under load.
 *
 * Per-key invalidations are tracked by the cache itself; this clock covers tags and
 * flushes (which spoil everything). It remembers a bounded number of tags; when it must
 * forget the oldest, loads older than the forgotten invalidations count as spoiled, so
 * forgetting costs a write-back, never correctness.
 */
export class InvalidationClock {
  /** Bumped by every tag invalidation and flush. */
  generation = 0
  /** Loads that started before this generation are spoiled (flushes, forgotten tags). */
  private floor = 0
  /** Generation of each tag's latest invalidation, oldest first (re-invalidated tags move to the end). */
  private readonly tagAt = new Map<string, number>()

  constructor(private readonly maxTags = 10_000) {}

  invalidateTags(tags: Iterable<string>): void {
    const at = ++this.generation
    for (const tag of tags) {
      this.tagAt.delete(tag)
      this.tagAt.set(tag, at)
    }
    if (this.tagAt.size > this.maxTags) this.forgetOldest(this.tagAt.size - this.maxTags / 2)
  }

  /** Everything is spoiled (L1 flushed). */
  flush(): void {
    this.floor = ++this.generation
    this.tagAt.clear()
  }

  /** Whether a load that started at `start` and writes an entry tagged `tags` must not write back. */
  spoils(start: number, tags: readonly string[] | undefined): boolean {
    if (start === this.generation) return false
    if (start < this.floor) return true
    if (tags === undefined) return false
    for (const tag of tags) {
      const at = this.tagAt.get(tag)
      if (at !== undefined && at > start) return true
    }
    return false
  }

  private forgetOldest(count: number): void {
    let forgotten = 0
    for (const [tag, at] of this.tagAt) {
      if (forgotten++ >= count) break
      this.tagAt.delete(tag)
      // A load started before `at` might have carried this tag: it is spoiled from now on.
      if (at > this.floor) this.floor = at
    }
  }
}
