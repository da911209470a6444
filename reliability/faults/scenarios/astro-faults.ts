import { fault } from '../fault.js'
import { astroAnswers } from '../probes.js'
import type { Stack } from '../stack.js'

async function setAstro(url: string, faults: { failureRate?: number; latencyMs?: number }): Promise<void> {
  const res = await fetch(`${url}/admin/faults`, { method: 'POST', body: JSON.stringify(faults) })
  if (res.status !== 200) throw new Error(`astro faults: ${res.status}`)
}

export async function astroFaults(stack: Stack, astroUrl: string): Promise<void> {
  await fault(stack, {
    name: 'astro slow (2 s per call)',
    // The breaker's half-open probe has to come round before forecasts return.
    recoveryBoundMs: 30_000,
    faultMs: 8_000,
    inject: () => setAstro(astroUrl, { latencyMs: 2_000 }),
    heal: () => setAstro(astroUrl, { latencyMs: 20 }),
    probe: () => astroAnswers(stack),
  })
  await fault(stack, {
    name: 'astro failing (100 % 503)',
    recoveryBoundMs: 30_000,
    faultMs: 8_000,
    inject: () => setAstro(astroUrl, { failureRate: 1 }),
    heal: () => setAstro(astroUrl, { failureRate: 0 }),
    probe: () => astroAnswers(stack),
  })
}
