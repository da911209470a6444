import { describeRedis } from '@headroom/testing'
import { describe } from 'vitest'
import { eventsContract } from './events-contract.js'

describe('queue events [memory store]', () => {
  eventsContract(
    () => undefined,
    () => 'mem',
  )
})

describeRedis('queue events', (target) => {
  let client: ReturnType<typeof target.client> | undefined
  eventsContract(
    () => {
      client ??= target.client()
      return client
    },
    () => target.prefix('qevents'),
  )
})
