import type { TcpProxy } from '../../../packages/testing/src/index.js'
import { fault } from '../fault.js'
import { everyUserWrites } from '../probes.js'
import type { Stack } from '../stack.js'

export async function shardOutage(stack: Stack, proxy: TcpProxy): Promise<void> {
  await fault(stack, {
    name: 'postgres shard 3 refuses connections',
    recoveryBoundMs: 20_000,
    inject: () => proxy.close(),
    heal: () => proxy.open(),
    // Every instance stays ready: the other instances do not reach the shard either.
    staysReady: true,
    // Every user can write again, whichever shard holds them.
    probe: () => everyUserWrites(stack),
  })
}
