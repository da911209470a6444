/**
 * Merges per-shard result lists, each already sorted by `compare`, into one sorted
 * list (a k-way merge), stopping at `limit`: the second half of a cross-shard
 * paginated query after `forEachShard`.
 *
 * @example
 * const pages = await router.forEachShard((pool) =>
 *   pool.query('select * from events order by at desc limit 20').then((r) => r.rows))
 * const newest = mergeSorted(pages, (a, b) => b.at - a.at, 20)
 */
export function mergeSorted<R>(
  lists: readonly (readonly R[])[],
  compare: (a: R, b: R) => number,
  limit = Number.POSITIVE_INFINITY,
): R[] {
  const out: R[] = []
  const cursors = new Array<number>(lists.length).fill(0)
  while (out.length < limit) {
    let best = -1
    for (let i = 0; i < lists.length; i++) {
      const list = lists[i]!
      if (cursors[i]! >= list.length) continue
      if (best < 0 || compare(list[cursors[i]!]!, lists[best]![cursors[best]!]!) < 0) best = i
    }
    if (best < 0) break
    out.push(lists[best]![cursors[best]!++]!)
  }
  return out
}
