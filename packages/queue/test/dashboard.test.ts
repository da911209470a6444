import { once } from 'node:events'
import http, { type IncomingMessage } from 'node:http'
import type { AddressInfo } from 'node:net'
import { waitUntil } from '@headroom/testing'
import express from 'express'
import { afterEach, describe, expect, it } from 'vitest'
import { createDashboard, dashboardRouter } from '../src/dashboard.js'
import { createQueue, createWorker, type Queue, UnrecoverableError } from '../src/index.js'

const closers: (() => Promise<void> | void)[] = []
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close()
})

async function serve(listener: http.RequestListener): Promise<string> {
  const server = http.createServer(listener)
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  closers.push(() => new Promise<void>((resolve) => server.close(() => resolve())))
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`
}

async function queueWithFailure(name = 'emails'): Promise<{ queue: Queue; failed: string }> {
  const queue = createQueue({ name })
  closers.push(() => queue.close())
  const failed = await queue.add('send', { to: '<script>alert(1)</script>' })
  const worker = createWorker(queue, {
    send: () => {
      throw new UnrecoverableError('mailbox <full> & "gone"')
    },
  })
  await waitUntil(async () => (await queue.getJobCounts()).failed === 1, { what: 'one failed' })
  await worker.close()
  await queue.add('send', { to: 'a@example.com' }, { priority: 'HIGH' })
  return { queue, failed }
}

const admin = (req: IncomingMessage) => req.headers.authorization === 'Bearer ops'
const auth = { authorization: 'Bearer ops' }
const retryHeaders = { ...auth, 'x-headroom-dashboard': 'retry' }

describe('queue dashboard (HTTP)', () => {
  it('serves one self-contained page with counts, priorities and escaped failures to an authorized caller', async () => {
    const { queue, failed } = await queueWithFailure()
    const base = await serve(createDashboard({ queues: [queue], authorize: admin }))
    const res = await fetch(base, { headers: auth })
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8')
    expect(res.headers.get('content-security-policy')).toContain("default-src 'none'")
    const html = await res.text()
    expect(html).toContain('data-count="failed">1<')
    expect(html).toContain(`data-retry-job="${failed}"`)
    expect(html).toContain('mailbox &lt;full&gt; &amp; &quot;gone&quot;')
    expect(html).not.toContain('<full>')
    expect(html).not.toMatch(/(src|href)="(https?:)?\/\//)
    const state = (await (await fetch(`${base}/api/state`, { headers: auth })).json()) as {
      queues: { name: string; counts: { failed: number; waiting: number }; failures: { id: string }[] }[]
    }
    expect(state.queues[0]).toMatchObject({
      name: 'emails',
      counts: { failed: 1, waiting: 1, waitingByPriority: { high: 1 } },
      failures: [{ id: failed }],
    })
  })

  it('refuses a caller authorize turns down (403) and answers 500 when authorize throws', async () => {
    const { queue } = await queueWithFailure()
    const base = await serve(createDashboard({ queues: [queue], authorize: admin }))
    expect((await fetch(base)).status).toBe(403)
    expect((await fetch(`${base}/api/state`, { headers: { authorization: 'Bearer nope' } })).status).toBe(403)
    expect(
      (
        await fetch(`${base}/api/queues/emails/retry`, {
          method: 'POST',
          headers: { 'x-headroom-dashboard': '1' },
        })
      ).status,
    ).toBe(403)
    const throwing = await serve(
      createDashboard({
        queues: [queue],
        authorize: async () => {
          throw new Error('session store down')
        },
      }),
    )
    const res = await fetch(throwing)
    expect(res.status).toBe(500)
    expect(await res.text()).not.toContain('session store down')
    expect((await queue.getJobCounts()).failed).toBe(1)
  })

  it('refuses a retry a cross-site page could send: no dashboard header, or another origin', async () => {
    const { queue, failed } = await queueWithFailure()
    const base = await serve(createDashboard({ queues: [queue], authorize: admin }))
    const path = `${base}/api/queues/emails/jobs/${failed}/retry`
    const noHeader = await fetch(path, { method: 'POST', headers: auth })
    expect(noHeader.status).toBe(403)
    expect(await noHeader.text()).toContain('x-headroom-dashboard')
    const foreign = await fetch(path, {
      method: 'POST',
      headers: { ...retryHeaders, origin: 'https://evil.example' },
    })
    expect(foreign.status).toBe(403)
    const crossSite = await fetch(path, {
      method: 'POST',
      headers: { ...retryHeaders, 'sec-fetch-site': 'cross-site' },
    })
    expect(crossSite.status).toBe(403)
    expect((await fetch(path, { headers: auth })).status).toBe(405)
    expect((await queue.getJob(failed))?.state).toBe('failed')

    const ok = await fetch(path, { method: 'POST', headers: { ...retryHeaders, origin: base } })
    expect(ok.status).toBe(200)
    expect((await queue.getJob(failed))?.state).toBe('waiting')
    expect((await fetch(path, { method: 'POST', headers: retryHeaders })).status).toBe(404)
    expect(
      (await fetch(`${base}/api/queues/nope/retry`, { method: 'POST', headers: retryHeaders })).status,
    ).toBe(404)
  })

  it('mounts in Express, retries all failed jobs, and leaves other paths to the app', async () => {
    const { queue } = await queueWithFailure()
    const other = createQueue({ name: 'reports' })
    closers.push(() => other.close())
    const app = express()
    app.use('/admin/queues', dashboardRouter({ queues: [queue, other], authorize: admin, title: 'Ops' }))
    app.get('/admin/queues-not', (_req, res) => void res.send('app'))
    app.use((_req, res) => void res.status(404).send('app 404'))
    const base = await serve(app)
    for (const path of ['/admin/queues', '/admin/queues/']) {
      const html = await (await fetch(`${base}${path}`, { headers: auth })).text()
      expect(html).toContain('<title>Ops</title>')
      expect(html).toContain('data-queue="reports"')
    }
    expect(await (await fetch(`${base}/admin/queues-not`)).text()).toBe('app')
    expect(await (await fetch(`${base}/admin/queues/elsewhere`, { headers: auth })).text()).toBe('app 404')
    const res = await fetch(`${base}/admin/queues/api/queues/emails/retry`, {
      method: 'POST',
      headers: retryHeaders,
    })
    expect(await res.json()).toEqual({ retried: 1 })
    expect(await queue.getJobCounts()).toMatchObject({ failed: 0, waiting: 2 })
  })

  it('serves under basePath as a plain handler, 404 elsewhere', async () => {
    const { queue } = await queueWithFailure()
    const base = await serve(createDashboard({ queues: [queue], authorize: admin, basePath: '/ops/queues' }))
    expect((await fetch(`${base}/ops/queues`, { headers: auth })).status).toBe(200)
    expect((await fetch(`${base}/ops/queues/api/state?x=1`, { headers: auth })).status).toBe(200)
    expect((await fetch(`${base}/`, { headers: auth })).status).toBe(404)
    expect((await fetch(`${base}/ops/queuesx`, { headers: auth })).status).toBe(404)
  })

  it('refuses options without authorize, and with duplicate queue names', () => {
    const queue = createQueue({ name: 'a' })
    closers.push(() => queue.close())
    expect(() => createDashboard({ queues: [queue] } as never)).toThrow(/authorize/)
    expect(() => createDashboard({ queues: [queue, queue], authorize: () => true })).toThrow(/distinct/)
    expect(() => dashboardRouter({ queues: [queue], authorize: () => true, colour: 'red' } as never)).toThrow(
      /colour/,
    )
  })
})
