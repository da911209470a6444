import { describeRedis } from '@headroom/testing'
import { describe } from 'vitest'
import { adminContract } from './admin-contract.js'

describe('queue operator verbs [memory store]', () => {
  adminContract(
    () => undefined,
    () => 'mem',
  )
})

describeRedis('queue operator verbs', (target) => {
  let client: ReturnType<typeof target.client> | undefined
  adminContract(
    () => {
      client ??= target.client()
      return client
    },
    () => target.prefix('queue-admin'),
  )
})
