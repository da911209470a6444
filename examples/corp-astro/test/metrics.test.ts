import { type ChildProcess, spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import {
  createTestDatabase,
  freePort,
  postgresAvailable,
  type TestDatabase,
  waitUntil,
} from '@headroom/testing'
import { afterAll, describe, expect, it } from 'vitest'
import { newUser, sampleProfile } from './helpers.js'
import { type MetricFamily, parsePrometheusText } from './prometheus-text.js'

const root = fileURLToPath(new URL('..', import.meta.url))
const children = new Set<ChildProcess>()
let db: TestDatabase | undefined

afterAll(async () => {
  for (const child of children) child.kill('SIGKILL')
  await db?.drop()
}, 30_000)

function run(env: Record<string, string>) {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: root,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  children.add(child)
  let output = ''
  child.stdout!.on('data', (chunk) => {
    output += chunk
  })
  child.stderr!.on('data', (chunk) => {
    output += chunk
  })
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  void exited.then(() => children.delete(child))
  return { child, output: () => output, exited }
}

/** The value of the one sample of `family` whose labels include `labels`. */
function sampleValue(
  family: MetricFamily | undefined,
  labels: Record<string, string>,
  sampleName?: string,
): number {
  const matches = (family?.samples ?? []).filter(
    (sample) =>
      (sampleName === undefined || sample.name === sampleName) &&
      Object.entries(labels).every(([key, value]) => sample.labels[key] === value),
  )
  if (matches.length !== 1) throw new Error(`${matches.length} samples match ${JSON.stringify(labels)}`)
  return matches[0]!.value
}

describe.skipIf(!postgresAvailable())('/metrics in cluster mode', () => {
  it('adds up both workers: typed Headroom metrics, request counts summed across workers', async () => {
    db = await createTestDatabase('astro_metrics')
    const port = await freePort()
    const proc = run({
      DATABASE_URL: db.url,
      PORT: String(port),
      HOST: '127.0.0.1',
      WEB_CONCURRENCY: '2',
      PG_POOL_MAX: '3',
      LOG_LEVEL: 'warn',
      SEED: 'false',
      SHED_EVENT_LOOP_DELAY_MS: '5000',
      // Round robin in the primary hands connections to the workers in turn, so both serve.
      NODE_CLUSTER_SCHED_POLICY: 'rr',
    })
    const base = `http://127.0.0.1:${port}`
    await waitUntil(
      async () =>
        (await fetch(`${base}/livez`, { signal: AbortSignal.timeout(1000) }).catch(() => null))?.ok === true,
      { timeoutMs: 60_000, what: 'the cluster to answer' },
    )
    // Both workers listen before the primary logs nothing else; wait until both report ready.
    let families = new Map<string, MetricFamily>()
    await waitUntil(
      async () => {
        const response = await fetch(`${base}/metrics`).catch(() => null)
        if (!response?.ok) return false
        families = parsePrometheusText(await response.text())
        return sampleValue(families.get('headroom_health_ready'), {}) === 2
      },
      { timeoutMs: 60_000, what: 'both workers in the aggregated /metrics' },
    )
    // The business events the dashboards follow: two registrations, a content view, a
    // report request (each on whichever worker the connection lands on).
    const owner = await newUser(base, 'metrics-a')
    await newUser(base, 'metrics-b')
    const profile = await owner.http.post('/api/business-profiles', sampleProfile, owner.token)
    expect(profile.status).toBe(201)
    const daily = await owner.http.get(`/api/content/daily?profileId=${profile.body.id}`, owner.token)
    expect(daily.status).toBe(200)
    const report = await owner.http.post('/api/reports/monthly', { profileId: profile.body.id }, owner.token)
    expect(report.status).toBe(202)

    families = parsePrometheusText(await (await fetch(`${base}/metrics`)).text())
    const before = families.get('http_request_duration_seconds')
    const countBefore = before?.samples.some((sample) => sample.labels.route === 'unmatched')
      ? sampleValue(before, { route: 'unmatched', status: '4xx' }, 'http_request_duration_seconds_count')
      : 0
    const requestsBefore = sampleValue(families.get('headroom_health_requests_total'), {})

    const REQUESTS = 20
    for (let i = 0; i < REQUESTS; i++) {
      // A connection per request: round robin sends them to alternate workers.
      const response = await fetch(`${base}/no-such-page-${i}`, { headers: { connection: 'close' } })
      await response.arrayBuffer()
      expect(response.status).toBe(404)
    }

    const response = await fetch(`${base}/metrics`)
    expect(response.headers.get('content-type')).toContain('text/plain')
    families = parsePrometheusText(await response.text())

    // One family per name, with the type an operator's queries assume.
    const types = Object.fromEntries([...families.values()].map((family) => [family.name, family.type]))
    expect(types).toMatchObject({
      http_request_duration_seconds: 'histogram',
      headroom_health_requests_total: 'counter',
      headroom_health_ready: 'gauge',
      headroom_health_status: 'gauge',
      headroom_health_event_loop_delay_seconds: 'gauge',
      headroom_breaker_state: 'gauge',
      headroom_breaker_calls_total: 'counter',
      headroom_cache_hits_total: 'counter',
      headroom_cache_l1_entries: 'gauge',
      headroom_rate_limit_decisions_total: 'counter',
      headroom_queue_jobs_waiting: 'gauge',
      headroom_pool_size: 'gauge',
      headroom_shard_routes_total: 'counter',
      headroom_shard_shards: 'gauge',
    })
    expect(types).toMatchObject({
      corp_astro_registrations_total: 'counter',
      corp_astro_content_views_total: 'counter',
      corp_astro_report_requests_total: 'counter',
    })
    expect(sampleValue(families.get('corp_astro_registrations_total'), {})).toBe(2)
    expect(sampleValue(families.get('corp_astro_content_views_total'), { kind: 'daily' })).toBe(1)
    expect(sampleValue(families.get('corp_astro_report_requests_total'), { tier: 'free' })).toBe(1)
    expect(types.headroom_stat).toBeUndefined()
    // Aggregated series carry no pid: the workers' values are added, not listed side by side.
    for (const family of families.values())
      for (const sample of family.samples) expect(sample.labels.pid).toBeUndefined()

    expect(sampleValue(families.get('headroom_health_ready'), {})).toBe(2)
    const unmatched = sampleValue(
      families.get('http_request_duration_seconds'),
      { route: 'unmatched', status: '4xx' },
      'http_request_duration_seconds_count',
    )
    expect(unmatched - countBefore).toBe(REQUESTS)
    expect(sampleValue(families.get('headroom_health_requests_total'), {}) - requestsBefore).toBe(REQUESTS)

    proc.child.kill('SIGTERM')
    expect(await proc.exited).toBe(0)
  }, 120_000)
})
