import { spawn } from 'node:child_process'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describeRedis, waitUntil } from '@headroom/testing'
import { describe, expect, it } from 'vitest'
import { createLock, LockLostError, LockTimeoutError } from '../src/redis/lock.js'

const here = dirname(fileURLToPath(import.meta.url))
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

describeRedis('createLock', (target) => {
  it('lets one holder at a time in, across clients, and every acquisition gets a larger fencing token', async () => {
    const prefix = target.prefix('lock')
    const locks = Array.from({ length: 4 }, () => createLock({ redis: target.client(), prefix }))
    let inside = 0
    let most = 0
    let counter = 0
    const fences: number[] = []
    await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        locks[i % 4]!.withLock(
          'counter',
          async (lease) => {
            inside++
            most = Math.max(most, inside)
            fences.push(lease.fencingToken)
            // A read-modify-write that loses updates without the lock.
            const read = counter
            await pause(5)
            counter = read + 1
            inside--
          },
          { waitMs: 20_000 },
        ),
      ),
    )
    expect(most).toBe(1)
    expect(counter).toBe(20)
    expect(fences).toEqual([...fences].sort((a, b) => a - b))
    expect(new Set(fences).size).toBe(20)
    for (const lock of locks) lock.close()
  })

  it('tryAcquire does not wait; only the holder releases; a bounded wait ends in LockTimeoutError', async () => {
    const prefix = target.prefix('lock')
    const a = createLock({ redis: target.client(), prefix })
    const b = createLock({ redis: target.client(), prefix })
    const lease = await a.acquire('job')
    expect(await b.tryAcquire('job')).toBeUndefined()
    const started = performance.now()
    await expect(b.acquire('job', { waitMs: 300 })).rejects.toBeInstanceOf(LockTimeoutError)
    const waited = performance.now() - started
    expect(waited).toBeGreaterThanOrEqual(290)
    expect(waited).toBeLessThan(5_000)

    expect(await lease.release()).toBe(true)
    expect(await lease.release()).toBe(false)
    const next = await b.tryAcquire('job')
    expect(next?.fencingToken).toBe(lease.fencingToken + 1)
    await next?.release()
    a.close()
    b.close()
  })

  it('renews a held lease past its ttl, so nobody else gets in while the holder is alive', async () => {
    const prefix = target.prefix('lock')
    // A ttl long enough that a loaded machine's scheduling cannot decide it; the pause
    // still spans more than two leases, so only renewal keeps the lock.
    const holder = createLock({ redis: target.client(), prefix, ttlMs: 1_000 })
    const other = createLock({ redis: target.client(), prefix })
    const lease = await holder.acquire('long-job')
    await pause(2_500)
    expect(lease.signal.aborted).toBe(false)
    expect(await other.tryAcquire('long-job')).toBeUndefined()
    await lease.release()
    expect(await other.tryAcquire('long-job')).toBeDefined()
    holder.close()
    other.close()
  })

  it('a holder that stops renewing loses the lease: its signal aborts, a successor gets a larger token, its release changes nothing', async () => {
    const prefix = target.prefix('lock')
    const stalled = createLock({ redis: target.client(), prefix, ttlMs: 200, renew: false })
    const successor = createLock({ redis: target.client(), prefix })
    const old = await stalled.acquire('resource')
    await waitUntil(() => old.signal.aborted, { timeoutMs: 5_000, what: 'the lease to be lost' })
    expect(old.signal.reason).toBeInstanceOf(LockLostError)
    const lease = await successor.acquire('resource', { waitMs: 5_000 })
    expect(lease.fencingToken).toBeGreaterThan(old.fencingToken)
    expect(await old.release()).toBe(false)
    expect(await old.extend()).toBe(false)
    // The successor still holds it.
    expect(await stalled.tryAcquire('resource')).toBeUndefined()
    await lease.release()
    stalled.close()
    successor.close()
  })

  it('a process killed while holding the lock frees it after its ttl', async () => {
    const prefix = target.prefix('lock')
    const child = spawn(process.execPath, ['--import', 'tsx', join(here, 'fixtures', 'lock-holder.ts')], {
      cwd: join(here, '..'),
      env: {
        ...process.env,
        LOCK_TARGET: target.kind,
        LOCK_PREFIX: prefix,
        LOCK_NAME: 'nightly',
        LOCK_TTL_MS: '1000',
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    })
    try {
      const line = await new Promise<string>((resolve, reject) => {
        let out = ''
        child.stdout.on('data', (chunk: Buffer) => {
          out += chunk.toString()
          if (out.includes('\n')) resolve(out.split('\n')[0]!)
        })
        child.once('exit', (code) =>
          reject(new Error(`lock holder exited (${code}) before holding the lock`)),
        )
      })
      const { fencingToken } = JSON.parse(line) as { fencingToken: number }
      const lock = createLock({ redis: target.client(), prefix })
      // Held and renewed by the live process, well past its ttl.
      await pause(1_500)
      expect(await lock.tryAcquire('nightly')).toBeUndefined()
      child.kill('SIGKILL')
      const lease = await lock.acquire('nightly', { waitMs: 10_000 })
      expect(lease.fencingToken).toBe(fencingToken + 1)
      await lease.release()
      lock.close()
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
    }
  })
})

describe('createLock options', () => {
  const redis = { evalsha: () => Promise.resolve(1) } as never
  it('refuses unknown and bad options with the option named', () => {
    expect(() => createLock({ redis, ttl: 5 } as never)).toThrow(/"ttl".*did you mean "ttlMs"/)
    expect(() => createLock({ redis, ttlMs: -1 })).toThrow(/"ttlMs"/)
    expect(() => createLock({ redis: {} as never })).toThrow(/ioredis client/)
    expect(() => createLock({ redis, prefix: 'a{b' })).toThrow(/"prefix"/)
  })

  it('refuses an empty name and unknown per-call options', async () => {
    const lock = createLock({ redis })
    await expect(lock.acquire('')).rejects.toThrow(/lock name/)
    await expect(lock.acquire('x', { wait: 1 } as never)).rejects.toThrow(/"wait"/)
  })
})
