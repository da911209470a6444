import { describeRedis } from '@headroom/testing'
import { describe } from 'vitest'
import { schedulingContract } from './scheduling-contract.js'

describe('scheduling [memory store]', () => {
  schedulingContract(
    () => undefined,
    () => 'mem',
  )
})

describeRedis('scheduling', (target) => {
  let client: ReturnType<typeof target.client> | undefined
  schedulingContract(
    () => {
      client ??= target.client()
      return client
    },
    () => target.prefix('sched'),
  )
})
