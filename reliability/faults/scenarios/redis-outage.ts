import type { RedisServer } from '../../../packages/testing/src/index.js'
import { fault } from '../fault.js'
import { reportCompletes } from '../probes.js'
import type { Stack } from '../stack.js'

export async function redisOutage(stack: Stack, redis: RedisServer): Promise<void> {
  await fault(stack, {
    name: 'redis stopped 10 s',
    recoveryBoundMs: 20_000,
    inject: () => redis.stop(),
    heal: () => redis.start(),
    probe: async () => (await fetch(`${stack.base}/readyz`)).status === 200 && (await reportCompletes(stack)),
  })
}
