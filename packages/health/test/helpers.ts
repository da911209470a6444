import { once } from 'node:events'
import { createServer, type RequestListener, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { ProcessReadings, Sampler } from '../src/process/sampler.js'

/** Calm readings: nothing near any default threshold. */
export const calm: ProcessReadings = {
  cpu: 0.1,
  rss: 100 * 1024 * 1024,
  heapUsed: 50 * 1024 * 1024,
  heapTotal: 80 * 1024 * 1024,
  heapLimit: 1024 * 1024 * 1024,
  heapUsedRatio: 50 / 1024,
  eventLoopDelay: 1,
  eventLoopDelayMax: 2,
  eventLoopUtilization: 0.1,
}

/** A sampler whose readings the test scripts. */
export interface ScriptedSampler extends Sampler {
  set(readings: Partial<ProcessReadings>): void
  reads: number
  closed: boolean
}

export function scriptedSampler(): ScriptedSampler {
  let current = { ...calm }
  const sampler: ScriptedSampler = {
    reads: 0,
    closed: false,
    set(readings) {
      current = { ...calm, ...readings }
    },
    read() {
      sampler.reads++
      return { ...current }
    },
    close() {
      sampler.closed = true
    },
  }
  return sampler
}

/** Starts a server on a free port; `close()` also cuts open connections. */
export async function listen(
  handler: RequestListener,
): Promise<{ server: Server; url: string; close(): Promise<void> }> {
  const server = createServer(handler)
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address() as AddressInfo
  return {
    server,
    url: `http://127.0.0.1:${port}`,
    async close() {
      if (!server.listening) return
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}

/**
 * Wraps a synchronous probe handler and records how long each call took inside the
 * server: the endpoint's own answer time, apart from the client's scheduling on a
 * loaded machine.
 */
export function timed(handler: RequestListener): { handler: RequestListener; times: number[] } {
  const times: number[] = []
  return {
    times,
    handler(req, res) {
      const started = performance.now()
      handler(req, res)
      times.push(performance.now() - started)
    },
  }
}
