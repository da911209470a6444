/** Runs the astro service on its own: `tsx src/astro/main.ts` (PORT, ASTRO_FAILURE_RATE, ASTRO_LATENCY_MS). */
import { startAstroService } from './service.js'

const service = await startAstroService({
  port: Number(process.env.PORT ?? 4100),
  host: process.env.HOST ?? '127.0.0.1',
  faults: {
    failureRate: Number(process.env.ASTRO_FAILURE_RATE ?? 0),
    latencyMs: Number(process.env.ASTRO_LATENCY_MS ?? 20),
  },
})
console.log(`astro service listening on ${service.url}`)
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    void service.close().then(() => process.exit(0))
  })
}
