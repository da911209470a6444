import type { TcpProxy } from '../../../packages/testing/src/index.js'
import { fault } from '../fault.js'
import { request } from '../load.js'
import type { Stack } from '../stack.js'

export async function shardOutage(stack: Stack, proxy: TcpProxy): Promise<void> {
  await fault(stack, {
    name: 'postgres shard 3 refuses connections',
    recoveryBoundMs: 20_000,
    inject: () => proxy.close(),
    heal: () => proxy.open(),
    // Every user can write again, whichever shard holds them.
    probe: async () => {
      for (const user of stack.users) {
        const res = await request(stack.base, 'PATCH', '/api/users/me', {
          token: user.token,
          ip: user.ip,
          body: { name: 'probe' },
        })
        if (res.status !== 200) return false
      }
      return true
    },
  })
}
