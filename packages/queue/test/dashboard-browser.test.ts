// The dashboard as an operator uses it: headless Chromium opens the page of a live Redis
// queue, reads the counts and clicks a failed job's Retry button.

import { once } from 'node:events'
import { existsSync } from 'node:fs'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { redisAvailable, serviceMissing, uniquePrefix, waitUntil } from '@headroom/testing'
import { Redis } from 'ioredis'
import { chromium } from 'playwright-core'
import { afterAll, describe, expect, it } from 'vitest'
import { createDashboard } from '../src/dashboard.js'
import { createQueue, createWorker, UnrecoverableError } from '../src/index.js'

const CHROMIUM = '/usr/bin/chromium'
const hasChromium =
  existsSync(CHROMIUM) || serviceMissing('Chromium', `no ${CHROMIUM}: apt-get install -y chromium`)

describe.skipIf(!hasChromium || !redisAvailable())('queue dashboard in Chromium [redis]', () => {
  const closers: (() => Promise<unknown> | unknown)[] = []
  afterAll(async () => {
    for (const close of closers.reverse()) await close()
  })

  it('shows the counts of a live Redis queue, and a Retry click moves the failed job back to waiting', async () => {
    const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379')
    closers.push(() => redis.quit())
    const queue = createQueue({ name: 'emails', prefix: uniquePrefix('dashboard'), redis })
    closers.push(
      () => queue.obliterate(),
      () => queue.close(),
    )

    const failed = await queue.add('send', { to: 'a@example.com' })
    const worker = createWorker(queue, {
      send: () => {
        throw new UnrecoverableError('mailbox full')
      },
    })
    await waitUntil(async () => (await queue.getJobCounts()).failed === 1, { what: 'one failed' })
    await worker.close()
    await queue.addBulk([
      { name: 'send', data: {}, options: { priority: 'CRITICAL' } },
      { name: 'send', data: {}, options: { priority: 'LOW' } },
      { name: 'send', data: {}, options: { priority: 'LOW' } },
      { name: 'send', data: {}, options: { delay: 60_000 } },
    ])

    const token = 'ops-secret'
    const server = http.createServer(
      createDashboard({
        queues: [queue],
        authorize: (req) => req.headers.cookie === `session=${token}`,
        basePath: '/admin/queues',
      }),
    )
    server.listen(0, '127.0.0.1')
    await once(server, 'listening')
    closers.push(() => new Promise((resolve) => server.close(resolve)))
    const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`

    const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] })
    closers.push(() => browser.close())
    const context = await browser.newContext()
    const page = await context.newPage()
    const errors: string[] = []
    page.on('pageerror', (error) => errors.push(error.message))
    page.on('console', (message) => {
      if (message.type() === 'error' && !message.text().startsWith('Failed to load resource'))
        errors.push(message.text())
    })
    page.on('response', (response) => {
      if (response.status() >= 400) errors.push(`${response.status()} ${response.url()}`)
    })

    // Without the session cookie the page is refused.
    expect((await page.goto(`${origin}/admin/queues`))?.status()).toBe(403)
    errors.length = 0

    await context.addCookies([{ name: 'session', value: token, url: origin }])
    expect((await page.goto(`${origin}/admin/queues`))?.status()).toBe(200)
    const count = (state: string) =>
      page.locator(`section[data-queue="emails"] [data-count="${state}"]`).textContent()
    expect(await count('waiting')).toBe('3')
    expect(await count('delayed')).toBe('1')
    expect(await count('failed')).toBe('1')
    expect(await page.locator('[data-priority="critical"]').textContent()).toBe('1')
    expect(await page.locator('[data-priority="low"]').textContent()).toBe('2')
    const row = page.locator(`tr[data-job-id="${failed}"]`)
    expect(await row.textContent()).toContain('mailbox full')

    await row.getByRole('button', { name: 'Retry' }).click()
    await waitUntil(async () => (await queue.getJob(failed))?.state === 'waiting', { what: 'job retried' })
    // The page reloads itself after the retry.
    await expect.poll(() => count('failed'), { timeout: 10_000 }).toBe('0')
    expect(await count('waiting')).toBe('4')
    expect(await page.locator('.none').textContent()).toBe('No failed jobs.')
    expect(errors).toEqual([])
  })
})
