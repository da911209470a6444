// A memory-only user of @headroom/core: no ioredis installed.
import {
  createFailureGate,
  createManualClock,
  type HeadroomError,
  hashTaggedKey,
  TimeoutError,
} from '@headroom/core'

async function main(): Promise<void> {
  const clock = createManualClock()
  const gate = createFailureGate({ clock })
  if (!gate.allow()) throw new Error('a fresh gate refused')
  gate.success()
  const key: string = hashTaggedKey('hits', 'user-42', 'n')
  if (!key.includes('{hits:user-42}')) throw new Error(`unexpected key ${key}`)
  const error: HeadroomError = new TimeoutError('late')
  if (error.code !== 'E_TIMEOUT') throw new Error(`unexpected code ${error.code}`)
}

main().then(
  () => console.log('ok core (memory)'),
  (error: unknown) => {
    console.error(error)
    process.exit(1)
  },
)
