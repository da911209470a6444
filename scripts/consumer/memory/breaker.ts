// A user of @headroom/breaker (opossum underneath), local state only.
import { type Breaker, createBreaker, isCircuitOpenError } from '@headroom/breaker'

async function main(): Promise<void> {
  let healthy = false
  const double: Breaker<[number], number> = createBreaker(
    async (n: number) => {
      if (!healthy) throw new Error('down')
      return n * 2
    },
    { volumeThreshold: 2, resetTimeout: 60_000 },
  )
  const outcomes: string[] = []
  for (let i = 0; i < 4; i++) {
    await double.fire(i).then(
      () => outcomes.push('ok'),
      (error: unknown) => outcomes.push(isCircuitOpenError(error) ? 'open' : 'failed'),
    )
  }
  if (outcomes.at(-1) !== 'open') throw new Error(`expected the breaker to open, got ${outcomes.join(',')}`)
  healthy = true
  if (double.circuit.name.length === 0) throw new Error('no opossum circuit underneath')
  await double.close()
}

main().then(
  () => console.log('ok breaker (memory)'),
  (error: unknown) => {
    console.error(error)
    process.exit(1)
  },
)
