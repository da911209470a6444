import type { Forecast } from './service.js'

/** Thrown for any answer but 200, so the breaker counts it. */
export class AstroUnavailableError extends Error {
  readonly status: number | undefined
  constructor(message: string, status?: number) {
    super(message)
    this.name = 'AstroUnavailableError'
    this.status = status
  }
}

/** A plain HTTP client for the astro service; the breaker wraps it (see platform/breaker.ts). */
export function createAstroClient(options: { url: string; timeoutMs: number }) {
  const base = options.url.replace(/\/$/, '')
  return {
    async forecast(sign: string, date: string, signal?: AbortSignal): Promise<Forecast> {
      const timeout = AbortSignal.timeout(options.timeoutMs)
      const response = await fetch(
        `${base}/v1/forecast?sign=${encodeURIComponent(sign)}&date=${encodeURIComponent(date)}`,
        { signal: signal ? AbortSignal.any([signal, timeout]) : timeout },
      )
      if (response.status !== 200) {
        await response.body?.cancel()
        throw new AstroUnavailableError(`astro answered ${response.status}`, response.status)
      }
      return (await response.json()) as Forecast
    },
  }
}

export type AstroClient = ReturnType<typeof createAstroClient>
