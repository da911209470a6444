import { once } from 'node:events'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { createTestDatabase, postgresAvailable, waitUntil } from '@headroom/testing'
import { afterEach, describe, expect, it } from 'vitest'
import { loadConfig } from '../src/config.js'
import { openPostgres } from '../src/db/postgres.js'
import { createLogger } from '../src/logger.js'
import { createAppHealth } from '../src/platform/health.js'

const cleanups: (() => unknown)[] = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

describe('alerts from the ALERT_* variables', () => {
  it('reads the seeds’ thresholds, with the defaults the README gives', () => {
    expect(loadConfig({}).alerts).toEqual({
      cpuPercent: 80,
      memoryPercent: 85,
      errorRatePercent: 5,
      responseTimeMs: 1000,
    })
    expect(
      loadConfig({ ALERT_WEBHOOK_URL: 'https://hooks.example.com/x', ALERT_CPU_PERCENT: '150' }).alerts,
    ).toMatchObject({ webhookUrl: 'https://hooks.example.com/x', cpuPercent: 150 })
    expect(() => loadConfig({ ALERT_ERROR_RATE_PERCENT: '120', ALERT_WEBHOOK_URL: 'nope' })).toThrowError(
      /ALERT_WEBHOOK_URL="nope".*\n.*ALERT_ERROR_RATE_PERCENT="120"/,
    )
  })

  it.skipIf(!postgresAvailable())(
    'posts a response-time alert to ALERT_WEBHOOK_URL once p99 stays over ALERT_RESPONSE_TIME_MS',
    async () => {
      const texts: string[] = []
      const receiver = createServer((req, res) => {
        let body = ''
        req.on('data', (chunk) => {
          body += chunk
        })
        req.on('end', () => {
          texts.push(String((JSON.parse(body) as { text: string }).text))
          res.end()
        })
      })
      receiver.listen(0, '127.0.0.1')
      await once(receiver, 'listening')
      cleanups.push(
        () =>
          new Promise((resolve) => {
            receiver.closeAllConnections()
            receiver.close(resolve)
          }),
      )
      const url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`
      const config = loadConfig({ ALERT_WEBHOOK_URL: url, ALERT_RESPONSE_TIME_MS: '100' })
      const db = await createTestDatabase('astro_alerts')
      cleanups.push(() => db.drop())
      const databases = openPostgres({
        url: db.url,
        shardUrls: [],
        replicaUrls: [[]],
        shardCount: 1,
        poolMin: 1,
        poolMax: 2,
      })
      cleanups.push(() => databases.close())
      const health = createAppHealth({
        config,
        logger: createLogger({ logLevel: 'silent' }),
        databases,
        redis: undefined,
      })
      cleanups.push(() => health.close())
      // Slow requests (250 ms) in every one-second window until the alert's dwell has passed.
      const feed = setInterval(() => {
        for (let i = 0; i < 25; i++) health.monitor.recordRequest(250)
      }, 100)
      cleanups.push(() => clearInterval(feed))
      await waitUntil(() => texts.length > 0, { timeoutMs: 15_000, what: 'the webhook alert' })
      expect(texts[0]).toMatch(
        /^:warning: \[corp-astro\] latencyP99 healthy → degraded: latencyP99 \d+\.\d ms >= 100\.0 ms$/,
      )
    },
    30_000,
  )
})
