import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import type { RedisCluster, RedisServer } from '../../../packages/testing/src/index.js'
import { fault } from '../fault.js'
import { reportCompletes } from '../probes.js'
import type { Stack } from '../stack.js'

const run = promisify(execFile)

export async function clusterFailover(stack: Stack, cluster: RedisCluster): Promise<void> {
  let victim: RedisServer | undefined
  for (const node of cluster.nodes) {
    const { stdout } = await run('redis-cli', ['-p', String(node.port), 'role'])
    if (stdout.startsWith('master')) {
      victim = node
      break
    }
  }
  if (!victim) throw new Error('no master found in the cluster')
  const node = victim
  await fault(stack, {
    name: 'redis cluster master killed (replica promoted)',
    recoveryBoundMs: 20_000,
    // The replica takes over after cluster-node-timeout (2 s) plus an election.
    faultMs: 6_000,
    inject: () => node.kill(),
    heal: async () => {},
    probe: () => reportCompletes(stack),
  })
}
