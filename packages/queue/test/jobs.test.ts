import { describeRedis } from '@headroom/testing'
import { describe } from 'vitest'
import { jobStoreContract } from './contract.js'

describe('durable queue [memory store]', () => {
  jobStoreContract(
    () => undefined,
    () => 'mem',
  )
})

describeRedis('durable queue', (target) => {
  let client: ReturnType<typeof target.client> | undefined
  jobStoreContract(
    () => {
      client ??= target.client()
      return client
    },
    () => target.prefix('queue'),
  )
})
