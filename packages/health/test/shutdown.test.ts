import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { createManualClock } from '@headroom/core'
import { waitUntil } from '@headroom/testing'
import { afterEach, describe, expect, it } from 'vitest'
import { healthRoutes } from '../src/http/probes.js'
import { createHealthMonitor } from '../src/monitor/monitor.js'
import { gracefulShutdown } from '../src/shutdown/graceful-shutdown.js'
import { listen } from './helpers.js'

const cleanups: (() => unknown)[] = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

describe('gracefulShutdown', () => {
  it('stops readiness first, lets in-flight requests finish, then closes and cleans up', async () => {
    // The drain delay and the timeout run on a manual clock: the test decides when the
    // drain ends, so "during the drain" holds however slow the machine is.
    const clock = createManualClock(Date.now())
    const monitor = createHealthMonitor({})
    cleanups.push(() => monitor.close())
    const probes = healthRoutes(monitor)
    const steps: string[] = []
    let started!: () => void
    const slowStarted = new Promise<void>((resolve) => {
      started = resolve
    })
    let release!: () => void
    const released = new Promise<void>((resolve) => {
      release = resolve
    })
    const server = await listen((req, res) =>
      probes(req, res, () => {
        // A slow request that is in flight when the shutdown starts, answered when the test says.
        started()
        void released.then(() => res.end('slow done'))
      }),
    )
    cleanups.push(() => server.close())
    const shutdown = gracefulShutdown({
      server: server.server,
      monitor,
      drainDelayMs: 200,
      timeoutMs: 5000,
      signals: [],
      clock,
      onShutdown: () => {
        steps.push('onShutdown')
      },
    })
    cleanups.push(() => shutdown.dispose())
    expect((await fetch(`${server.url}/readyz`)).status).toBe(200)
    const slow = fetch(`${server.url}/slow`).then((response) => response.text())
    await slowStarted
    const done = shutdown.shutdown().then(() => steps.push('done'))
    expect(shutdown.shuttingDown).toBe(true)
    expect(shutdown.shutdown()).toBe(shutdown.shutdown())
    // During the drain delay the listener is still open, and readiness says 503.
    const ready = await fetch(`${server.url}/readyz`)
    expect(ready.status).toBe(503)
    expect(ready.headers.get('connection')).toBe('close')
    expect(server.server.listening).toBe(true)
    await clock.advanceAsync(200)
    // The drain is over: the listener closes, the request in flight still finishes.
    await waitUntil(() => !server.server.listening, { timeoutMs: 10_000, what: 'the listener closed' })
    expect(steps).toEqual([])
    release()
    expect(await slow).toBe('slow done')
    await done
    expect(steps).toEqual(['onShutdown', 'done'])
    await expect(fetch(`${server.url}/livez`)).rejects.toThrow()
  })

  it('cuts connections still busy after timeoutMs, not before', async () => {
    const clock = createManualClock(0)
    let arrived!: () => void
    const requestArrived = new Promise<void>((resolve) => {
      arrived = resolve
    })
    const server = await listen(() => {
      // Never answers.
      arrived()
    })
    cleanups.push(() => server.close())
    const shutdown = gracefulShutdown({
      server: server.server,
      drainDelayMs: 0,
      timeoutMs: 200,
      signals: [],
      clock,
    })
    let outcome: string | undefined
    const hanging = fetch(`${server.url}/hang`).then(
      () => {
        outcome = 'answered'
      },
      () => {
        outcome = 'cut'
      },
    )
    await requestArrived
    const done = shutdown.shutdown()
    await clock.advanceAsync(199)
    await new Promise((resolve) => setImmediate(resolve))
    expect(outcome).toBeUndefined()
    await clock.advanceAsync(1)
    await done
    await hanging
    expect(outcome).toBe('cut')
  })

  it('validates its options', () => {
    expect(() => gracefulShutdown({ server: {} as never, timeoutMs: -1, signals: [] })).toThrow(/"timeoutMs"/)
  })

  it('on SIGTERM a real process drains and exits', async () => {
    const fixture = fileURLToPath(new URL('./fixtures/shutdown-server.ts', import.meta.url))
    const child = spawn(process.execPath, ['--import', 'tsx', fixture], {
      stdio: ['ignore', 'pipe', 'inherit'],
    })
    cleanups.push(() => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
    })
    const lines: string[] = []
    createInterface({ input: child.stdout! }).on('line', (line) => lines.push(line))
    await waitUntil(() => lines.some((line) => line.startsWith('listening ')), {
      timeoutMs: 20_000,
      what: 'the fixture',
    })
    const url = lines.find((line) => line.startsWith('listening '))!.slice('listening '.length)
    expect((await fetch(`${url}/readyz`)).status).toBe(200)
    const slow = fetch(`${url}/slow`).then((response) => response.text())
    await waitUntil(() => lines.includes('slow started'), { timeoutMs: 10_000, what: 'the slow request' })
    const exited = once(child, 'exit')
    child.kill('SIGTERM')
    await waitUntil(() => lines.includes('draining'), { timeoutMs: 10_000, what: 'draining' })
    expect((await fetch(`${url}/readyz`)).status).toBe(503)
    expect(await slow).toBe('slow done')
    const [code, signal] = await exited
    expect(lines).toContain('cleaned up')
    expect(code === 0 || signal === 'SIGTERM' || code === 143).toBe(true)
  }, 40_000)
})
