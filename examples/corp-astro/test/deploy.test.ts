import { existsSync, readFileSync } from 'node:fs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parse } from 'yaml'
import { envSchema, loadConfig } from '../src/config.js'
import type { RunningServer } from '../src/server.js'
import { startTestApp } from './helpers.js'

const deploy = (path: string) => new URL(`../deploy/${path}`, import.meta.url)
const read = (path: string) => readFileSync(deploy(path), 'utf8')
const compose = parse(read('docker-compose.yml')) as {
  services: Record<string, any>
}
const app = compose.services.app

/** Compose interpolation: `${VAR:-default}` takes the default, `${VAR:?message}` a value the operator must give. */
function interpolate(value: string, given: Record<string, string>): string {
  return value.replace(
    /\$\{(\w+)(?::?([-?])([^}]*))?\}/g,
    (_match, name: string, kind?: string, rest?: string) => {
      if (given[name] !== undefined) return given[name]!
      if (kind === '-') return rest ?? ''
      throw new Error(`compose needs ${name}: ${rest}`)
    },
  )
}

const OPERATOR_GIVES = { JWT_SECRET: 'x'.repeat(64) }
const appEnv: Record<string, string> = Object.fromEntries(
  Object.entries(app.environment as Record<string, string | number>).map(([name, value]) => [
    name,
    interpolate(String(value), OPERATOR_GIVES),
  ]),
)

/** `FROM ... AS name` stages of a Dockerfile, each with its instructions (continuations joined). */
function dockerStages(text: string) {
  const instructions = text
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith('#'))
  const stages: { name: string; from: string; lines: string[] }[] = []
  for (const line of instructions) {
    const from = /^FROM\s+(\S+)(?:\s+AS\s+(\S+))?/i.exec(line)
    if (from) stages.push({ from: from[1]!, name: from[2] ?? String(stages.length), lines: [] })
    else stages.at(-1)?.lines.push(line)
  }
  return stages
}

describe('deploy/docker-compose.yml', () => {
  it('parses, and runs the app, Postgres, Redis, Prometheus and Grafana', () => {
    expect(Object.keys(compose.services).sort()).toEqual([
      'app',
      'grafana',
      'postgres',
      'prometheus',
      'redis',
    ])
  })

  it("sets only variables the app's config reads, with values it accepts: 2 workers, 4 shard databases, Redis", () => {
    const known = new Set(Object.keys(envSchema.shape))
    expect(Object.keys(appEnv).filter((name) => !known.has(name))).toEqual([])
    const config = loadConfig(appEnv)
    expect(config.env).toBe('production')
    expect(config.webConcurrency).toBe(2)
    expect(config.redis.url).toBe('redis://redis:6379')
    expect(config.database.kind).toBe('postgres')
    if (config.database.kind !== 'postgres') return
    expect(config.database.shardUrls).toHaveLength(4)
    expect(config.database.shardCount).toBe(4)
    expect(config.seed).toBe(true)
  })

  it('refuses to start without a JWT_SECRET from the operator', () => {
    expect(() => interpolate(String(app.environment.JWT_SECRET), {})).toThrow(/JWT_SECRET/)
  })

  it('publishes the port the app listens on, and Prometheus scrapes it at /metrics', () => {
    const port = String(loadConfig(appEnv).port)
    expect(app.ports).toContain(`${port}:${port}`)
    expect(app.healthcheck.test.join(' ')).toContain(`127.0.0.1:${port}/readyz`)
    const prometheus = parse(read('prometheus/prometheus.yml'))
    const job = prometheus.scrape_configs.find((entry: any) => entry.job_name === 'corp-astro')
    expect(job.metrics_path).toBe('/metrics')
    expect(job.static_configs[0].targets).toEqual([`app:${port}`])
  })

  it('creates, on first start of Postgres, every database the app names', () => {
    const mounts: string[] = compose.services.postgres.volumes
    expect(mounts).toContain('./postgres/init.sql:/docker-entrypoint-initdb.d/init.sql:ro')
    const created = [...read('postgres/init.sql').matchAll(/^CREATE DATABASE (\w+);/gm)].map((m) => m[1])
    const config = loadConfig(appEnv)
    if (config.database.kind !== 'postgres') throw new Error('expected Postgres')
    const named = [config.database.url, ...config.database.shardUrls].map((url) =>
      new URL(url).pathname.slice(1),
    )
    expect(created.sort()).toEqual(named.sort())
    expect(new URL(config.database.url).password).toBe(
      compose.services.postgres.environment.POSTGRES_PASSWORD,
    )
  })

  it('mounts files that exist', () => {
    for (const service of Object.values(compose.services)) {
      for (const mount of (service.volumes ?? []) as string[]) {
        const [source] = mount.split(':')
        if (source!.startsWith('./')) expect(existsSync(deploy(source!)), mount).toBe(true)
      }
    }
    // The build context is the repository root (the example builds on the workspace packages).
    const context = deploy(`${app.build.context}/`)
    expect(existsSync(new URL('pnpm-lock.yaml', context))).toBe(true)
    expect(existsSync(new URL(app.build.dockerfile, context))).toBe(true)
  })
})

describe('deploy/Dockerfile', () => {
  const stages = dockerStages(read('Dockerfile'))
  const runtime = stages.at(-1)!
  const manifest = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'))

  it('builds with pnpm in a first stage', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2)
    const build = stages[0]!.lines.join('\n')
    expect(build).toMatch(/pnpm install --frozen-lockfile/)
    expect(build).toMatch(/pnpm build/)
  })

  it('runs without pnpm, as a non-root user, under tini, with the package start command itself', () => {
    const lines = runtime.lines.join('\n')
    expect(lines).not.toMatch(/\bpnpm\b|corepack enable|npm install/)
    const user = runtime.lines.filter((line) => /^USER\s/i.test(line)).at(-1)
    expect(user).toBeDefined()
    expect(user).not.toMatch(/^USER\s+(root|0)\b/i)
    const entrypoint = runtime.lines.find((line) => /^ENTRYPOINT\s/i.test(line))!
    expect(JSON.parse(entrypoint.replace(/^ENTRYPOINT\s+/i, ''))).toEqual(['/usr/bin/tini', '--'])
    const cmd = runtime.lines.find((line) => /^CMD\s/i.test(line))!
    // Exec form: node is tini's child and gets the signals (a shell form would put sh in between).
    expect(JSON.parse(cmd.replace(/^CMD\s+/i, '')).join(' ')).toBe(manifest.scripts.start)
    const workdir = runtime.lines.filter((line) => /^WORKDIR\s/i.test(line)).at(-1)
    expect(workdir).toBe('WORKDIR /app/examples/corp-astro')
  })
})

/** Metric selectors (`name{matchers}`) of a PromQL expression. */
function selectors(expr: string) {
  const found: { name: string; matchers: { label: string; op: string; value: string }[] }[] = []
  // A selector may name its metric before the braces or by `__name__` inside them.
  for (const match of expr.matchAll(/([a-zA-Z_:][a-zA-Z0-9_:]*)?\{([^}]*)\}/g)) {
    const matchers = [...match[2]!.matchAll(/(\w+)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"/g)].map((m) => ({
      label: m[1]!,
      op: m[2]!,
      value: m[3]!.replace(/\\(.)/g, '$1'),
    }))
    if (match[1]) matchers.push({ label: '__name__', op: '=', value: match[1] })
    found.push({ name: match[1] ?? '', matchers })
  }
  return found
}

/** Samples of a Prometheus text exposition: name and labels. */
function samples(text: string) {
  const result: { name: string; labels: Record<string, string> }[] = []
  for (const line of text.split('\n')) {
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+\S+/.exec(line)
    if (!match) continue
    const labels: Record<string, string> = {}
    for (const m of (match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[m[1]!] = m[2]!
    labels.__name__ = match[1]!
    result.push({ name: match[1]!, labels })
  }
  return result
}

describe('deploy/grafana: the dashboard queries what /metrics exports', () => {
  const dashboard = JSON.parse(read('grafana/dashboards/corp-astro.json'))
  const targets: { title: string; expr: string }[] = dashboard.panels.flatMap((panel: any) =>
    panel.targets.map((target: any) => ({ title: panel.title, expr: target.expr })),
  )
  let running: RunningServer
  let exposition: string

  beforeAll(async () => {
    running = await startTestApp()
    // One timed request (a 401), so the HTTP histogram has a series.
    await fetch(`${running.url}/api/users/me`)
    exposition = await (await fetch(`${running.url}/metrics`)).text()
  }, 180_000)
  afterAll(() => running?.close())

  it('has the panels an operator needs', () => {
    const titles = dashboard.panels.map((panel: any) => panel.title.toLowerCase()).join('\n')
    for (const topic of [
      'requests per second',
      'p99',
      'shed',
      'rate-limited',
      'cache hit rate',
      'queue depth',
      'breaker',
      'pool limits',
    ])
      expect(titles).toContain(topic)
    const provider = parse(read('grafana/provisioning/dashboards/dashboards.yml'))
    expect(compose.services.grafana.volumes).toContain(
      `./grafana/dashboards:${provider.providers[0].options.path}:ro`,
    )
    const datasource = parse(read('grafana/provisioning/datasources/prometheus.yml')).datasources[0]
    for (const panel of dashboard.panels) expect(panel.datasource.uid).toBe(datasource.uid)
  })

  it('names in every query a series the live app exports, labels included', () => {
    const exported = samples(exposition)
    const missing: string[] = []
    for (const { title, expr } of targets) {
      const found = selectors(expr)
      expect(found.length, expr).toBeGreaterThan(0)
      for (const selector of found) {
        const hit = exported.some((sample) =>
          selector.matchers.every(({ label, op, value }) => {
            // The HTTP histogram labels status classes; one not seen yet in this short run
            // (5xx) still has a series in production: the value must be a class the app writes.
            if (label === 'status' && op === '=' && sample.labels.status !== undefined)
              return /^[1-5]xx$/.test(value)
            const actual = sample.labels[label] ?? ''
            if (op === '=') return actual === value
            if (op === '!=') return actual !== value
            const matches = new RegExp(`^(?:${value})$`).test(actual)
            return op === '=~' ? matches : !matches
          }),
        )
        if (!hit)
          missing.push(
            `${title}: ${selector.name}{${selector.matchers.map((m) => `${m.label}${m.op}"${m.value}"`).join(',')}}`,
          )
      }
    }
    expect(missing).toEqual([])
  })
})
