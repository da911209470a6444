import type { Database } from '../../../examples/corp-astro/src/db/database.js'
import { createShards } from '../../../examples/corp-astro/src/platform/shards.js'
import type { TcpProxy } from '../../../packages/testing/src/index.js'
import { fault } from '../fault.js'
import type { Sample } from '../load.js'
import { everyUserWrites } from '../probes.js'
import type { Stack } from '../stack.js'

/**
 * The promise of the app's database deadlines (its defaults, which the suite keeps): a
 * call answers or fails within PG_CONNECT_TIMEOUT_MS + PG_QUERY_TIMEOUT_MS (2 s + 2 s),
 * plus a second for the rest of the request on a busy machine.
 */
const ANSWER_BOUND_MS = 2_000 + 2_000 + 1_000

/** Which shard holds each user: the app's own router over 4 named shards (deterministic). */
function shardOf(userIds: string[]): Map<string, string> {
  const shards = createShards(
    Array.from({ length: 4 }, (_, index) => ({
      id: `shard-${index}`,
      primary: { name: `shard-${index}` } as Database,
      replicas: [],
    })),
  )
  return new Map(userIds.map((id) => [id, shards.forUser(id).name]))
}

/**
 * Shard 3 keeps accepting connections but answers nothing (`hang`), or answers each
 * chunk 2 s late (`slow`): the failures a server-side timeout cannot bound. Its users
 * must get a clean 503 within the deadlines, everyone else must not notice, and every
 * instance stays ready (another instance would not reach the shard either).
 */
export async function shardHang(stack: Stack, proxy: TcpProxy): Promise<void> {
  const shards = shardOf(stack.users.map((user) => user.id))
  const hit = stack.users.filter((user) => shards.get(user.id) === 'shard-3').length
  if (hit === 0 || hit === stack.users.length)
    throw new Error(`the fault needs users on shard 3 and elsewhere; ${hit} of ${stack.users.length} on it`)

  const judge = (samples: Sample[], window: { faultAt: number; healedAt: number }) => {
    const broken: string[] = []
    for (const sample of samples) {
      const onShard = shards.get(sample.user) === 'shard-3'
      if (onShard && sample.ms > ANSWER_BOUND_MS)
        broken.push(`${sample.op} (shard-3 user) answered in ${sample.ms} ms, over ${ANSWER_BOUND_MS} ms`)
      // Users of the other shards are unaffected while it lasts (the heal cuts connections,
      // which only the shard's own users can notice).
      if (!onShard && sample.verdict !== 'ok' && sample.at < window.healedAt)
        broken.push(`${sample.op} (${shards.get(sample.user)} user): ${sample.status} ${sample.verdict}`)
    }
    return broken
  }
  // Healing cuts the connections the fault held: bytes a hang swallowed (or a slow path
  // still holds) would otherwise arrive out of order; a real path that recovers either
  // delivers them in order or resets the connection.
  const heal = async () => {
    proxy.pass()
    proxy.reset()
  }
  for (const spec of [
    { name: 'postgres shard 3 hangs (accepts, never answers)', inject: () => proxy.hang() },
    { name: 'postgres shard 3 slow (2 s per chunk)', inject: () => proxy.slow(2_000) },
  ]) {
    await fault(stack, {
      name: spec.name,
      recoveryBoundMs: 20_000,
      inject: async () => spec.inject(),
      heal,
      staysReady: true,
      judge,
      probe: () => everyUserWrites(stack),
    })
  }
}
