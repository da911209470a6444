import { describeRedis } from '@headroom/testing'
import { describe } from 'vitest'
import { jobStoreContract } from './contract.js'
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

// With events on, the scripts also XADD: the store's own promises must hold just the same.
describe('durable queue, events on [memory store]', () => {
  jobStoreContract(
    () => undefined,
    () => 'mem',
    { events: true },
  )
})

describeRedis(
  'durable queue, events on',
  (target) => {
    let client: ReturnType<typeof target.client> | undefined
    jobStoreContract(
      () => {
        client ??= target.client()
        return client
      },
      () => target.prefix('qevents-contract'),
      { events: true },
    )
  },
  { cluster: false },
)
