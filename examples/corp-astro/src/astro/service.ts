import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { murmur3 } from '@headroom/core'

/** What the astro service answers for one sign and day. */
export interface Forecast {
  sign: string
  date: string
  energy: number
  focus: string
  luckyNumber: number
  mercuryRetrograde: boolean
}

/** Fault injection: a share of requests fails, every request waits. */
export interface AstroFaults {
  /** Share of requests answered 503, 0..1. @default 0 */
  failureRate: number
  /** Added latency in ms. @default 0 */
  latencyMs: number
}

export interface AstroService {
  readonly url: string
  readonly port: number
  setFaults(faults: Partial<AstroFaults>): void
  faults(): AstroFaults
  /** Requests served (including injected failures). */
  requests(): number
  close(): Promise<void>
}

const FOCUS = [
  'cash flow',
  'hiring',
  'partnerships',
  'product',
  'marketing',
  'operations',
  'strategy',
  'customers',
]

/** Deterministic: the same sign and day always give the same forecast. */
export function forecastFor(sign: string, date: string): Forecast {
  const hash = murmur3(`${sign}|${date}`)
  return {
    sign,
    date,
    energy: 1 + (hash % 10),
    focus: FOCUS[(hash >>> 4) % FOCUS.length]!,
    luckyNumber: 1 + ((hash >>> 8) % 99),
    mercuryRetrograde: ((hash >>> 16) & 7) === 0,
  }
}

/**
 * The external "astro" service the app depends on: a small HTTP server with failure
 * and latency injection, so the breaker and the fallback can be seen working.
 * `POST /admin/faults {"failureRate":0.5,"latencyMs":200}` changes faults at run time.
 *
 * @example
 * const astro = await startAstroService({ port: 0, faults: { latencyMs: 20 } })
 * await fetch(`${astro.url}/v1/forecast?sign=Leo&date=2026-01-01`)
 */
export async function startAstroService(
  options: { port?: number; host?: string; faults?: Partial<AstroFaults> } = {},
): Promise<AstroService> {
  let faults: AstroFaults = { failureRate: 0, latencyMs: 0, ...options.faults }
  let served = 0
  const timers = new Set<NodeJS.Timeout>()

  const send = (res: ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body))
  }

  const handle = (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://astro')
    if (req.method === 'GET' && url.pathname === '/healthz') return send(res, 200, { status: 'ok' })
    if (req.method === 'POST' && url.pathname === '/admin/faults') {
      let raw = ''
      req.on('data', (chunk) => {
        raw += chunk
      })
      req.on('end', () => {
        try {
          const body = JSON.parse(raw || '{}') as Partial<AstroFaults>
          faults = {
            failureRate: Math.min(1, Math.max(0, Number(body.failureRate ?? faults.failureRate))),
            latencyMs: Math.max(0, Number(body.latencyMs ?? faults.latencyMs)),
          }
          send(res, 200, faults)
        } catch {
          send(res, 400, { error: 'expected JSON' })
        }
      })
      return
    }
    if (req.method === 'GET' && url.pathname === '/v1/forecast') {
      served++
      const sign = url.searchParams.get('sign')
      const date = url.searchParams.get('date')
      if (!sign || !date || !/^\d{4}-\d{2}-\d{2}$/.test(date)) {
        return send(res, 400, { error: 'sign and date (YYYY-MM-DD) are required' })
      }
      const answer = () => {
        if (Math.random() < faults.failureRate) return send(res, 503, { error: 'injected failure' })
        send(res, 200, forecastFor(sign, date))
      }
      if (faults.latencyMs <= 0) return answer()
      const timer = setTimeout(() => {
        timers.delete(timer)
        answer()
      }, faults.latencyMs)
      timers.add(timer)
      return
    }
    send(res, 404, { error: 'not found' })
  }

  const server: Server = createServer(handle)
  server.keepAliveTimeout = 65_000
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', resolve)
  })
  const { port } = server.address() as AddressInfo
  return {
    url: `http://${options.host ?? '127.0.0.1'}:${port}`,
    port,
    setFaults(next) {
      faults = { ...faults, ...next }
    },
    faults: () => faults,
    requests: () => served,
    async close() {
      for (const timer of timers) clearTimeout(timer)
      timers.clear()
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}
