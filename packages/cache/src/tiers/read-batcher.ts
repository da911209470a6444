import type { CommandTimeout, RedisClient } from '@headroom/core'
import { keySlot } from '@headroom/core'

/** Most keys in one MGET. */
const MAX_BATCH = 512

/** Reads many keys in as few commands as their slots allow. */
export type MultiGet = (keys: readonly string[]) => Promise<(string | null)[]>

/**
 * `MGET` on a standalone server; on a Cluster one `MGET` per hash slot (MGET may not
 * span slots), sent together so ioredis pipelines them per node.
 */
export function createMultiGet(client: RedisClient, cluster: boolean): MultiGet {
  if (!cluster) return (keys) => client.mget(keys as string[])
  return async (keys) => {
    const bySlot = new Map<number, number[]>()
    for (let i = 0; i < keys.length; i++) {
      const slot = keySlot(keys[i]!)
      const group = bySlot.get(slot)
      if (group) group.push(i)
      else bySlot.set(slot, [i])
    }
    const out: (string | null)[] = new Array(keys.length)
    await Promise.all(
      [...bySlot.values()].map(async (indexes) => {
        const values = await client.mget(indexes.map((i) => keys[i]!))
        for (let j = 0; j < indexes.length; j++) out[indexes[j]!] = values[j] ?? null
      }),
    )
    return out
  }
}

/**
 * Coalesces the L2 reads issued in one tick into one `MGET` (per slot on a Cluster) under
 * one command timeout: 64 concurrent misses cost one command, one timeout entry and one
 * reply, instead of 64 of each. The caller takes its value at `lastIndex` of the batch.
 */
export interface ReadBatcher {
  /** Queues `key`; the promise resolves with the whole batch. Read `lastIndex` right after. */
  read(key: string): Promise<(string | null)[]>
  readonly lastIndex: number
}

interface Batch {
  keys: string[]
  promise: Promise<(string | null)[]>
  resolve: (values: (string | null)[]) => void
  reject: (error: unknown) => void
}

export function createReadBatcher(
  multiGet: MultiGet,
  timeout: CommandTimeout,
  onSettled: (error: unknown) => void,
): ReadBatcher {
  let current: Batch | undefined
  let lastIndex = 0

  const send = (batch: Batch) => {
    if (current === batch) current = undefined
    timeout.run(multiGet(batch.keys)).then(
      (values) => {
        onSettled(undefined)
        batch.resolve(values)
      },
      (error: unknown) => {
        onSettled(error)
        batch.reject(error)
      },
    )
  }

  return {
    read(key) {
      let batch = current
      if (batch === undefined) {
        let resolve!: Batch['resolve']
        let reject!: Batch['reject']
        const promise = new Promise<(string | null)[]>((onValue, onError) => {
          resolve = onValue
          reject = onError
        })
        const created: Batch = { keys: [], promise, resolve, reject }
        batch = current = created
        // A microtask: every read issued by the current synchronous run joins this batch.
        queueMicrotask(() => send(created))
      }
      lastIndex = batch.keys.push(key) - 1
      // A full batch takes no more keys; it is still sent by its own microtask.
      if (batch.keys.length >= MAX_BATCH) current = undefined
      return batch.promise
    },
    get lastIndex() {
      return lastIndex
    },
  }
}
