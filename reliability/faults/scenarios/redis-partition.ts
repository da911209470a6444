import type { TcpProxy } from '../../../packages/testing/src/index.js'
import { fault } from '../fault.js'
import { editsAgree } from '../probes.js'
import type { Stack } from '../stack.js'

/**
 * The second instance loses Redis (its path black-holes: connections stay open, nothing
 * gets through) while the first keeps it. The second keeps serving from its L1 and local
 * limits; what it acknowledges meanwhile (profile edits written through to the cache) must
 * be what every instance serves once the partition heals (checked with the lost items).
 */
export async function redisPartition(stack: Stack, redisProxy: TcpProxy): Promise<void> {
  if (!stack.second) throw new Error('the partition needs a second instance')
  await fault(stack, {
    name: 'redis partition of one instance',
    recoveryBoundMs: 20_000,
    inject: async () => redisProxy.hang(),
    // A path that recovers delivers what it held in order or resets the connection; the
    // proxy dropped what it held, so it resets them and the client reconnects.
    heal: async () => {
      redisProxy.pass()
      redisProxy.reset()
    },
    staysReady: true,
    probe: () => editsAgree(stack),
  })
}
