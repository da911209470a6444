/**
 * Runs `task(i)` for i in [0, count) with at most `concurrency` at once; resolves with
 * the results in index order, or rejects with an AggregateError (one error per failed
 * index, each tagged with `label(i)`) once every task has settled.
 */
export async function fanOut<R>(
  count: number,
  concurrency: number,
  task: (index: number) => Promise<R>,
  label: (index: number) => string,
): Promise<R[]> {
  const results = new Array<R>(count)
  const failures: { index: number; error: unknown }[] = []
  let next = 0
  const worker = async () => {
    while (next < count) {
      const index = next++
      try {
        results[index] = await task(index)
      } catch (error) {
        failures.push({ index, error })
      }
    }
  }
  await Promise.all(Array.from({ length: Math.min(count, Math.max(1, concurrency)) }, worker))
  if (failures.length > 0) {
    failures.sort((a, b) => a.index - b.index)
    throw new AggregateError(
      failures.map((f) => f.error),
      `forEachShard: ${failures.length} of ${count} shards failed (${failures.map((f) => label(f.index)).join(', ')})`,
    )
  }
  return results
}
