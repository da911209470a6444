import { execFileSync } from 'node:child_process'
import { createConnection } from 'node:net'

/** The standalone Redis the suites share (key prefixes keep them apart; nothing is flushed). */
export function redisUrl(): string {
  return process.env.HEADROOM_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379'
}

/** The Postgres server tests create their throwaway databases on. */
export function postgresUrl(): string {
  return process.env.HEADROOM_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres'
}

/** The Cluster nodes started by the global setup (or given by `HEADROOM_TEST_REDIS_CLUSTER`). */
export function clusterNodes(): { host: string; port: number }[] {
  const list = process.env.HEADROOM_TEST_REDIS_CLUSTER
  if (!list) return []
  return list.split(',').map((entry) => {
    const [host, port] = entry.trim().split(':')
    return { host: host ?? '127.0.0.1', port: Number(port) }
  })
}

/** True when a TCP server answers at `host:port` and replies to `probe` (if given) within `ms`. */
export function answers(host: string, port: number, ms = 1_000, probe?: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host, port })
    const done = (ok: boolean) => {
      socket.destroy()
      resolve(ok)
    }
    socket.setTimeout(ms, () => done(false))
    socket.once('error', () => done(false))
    socket.once('connect', () => {
      if (!probe) return done(true)
      socket.write(probe)
    })
    socket.once('data', () => done(true))
  })
}

/** True when the Redis at `url` answers PING. */
export function redisAnswers(url = redisUrl()): Promise<boolean> {
  const { hostname, port } = new URL(url)
  return answers(hostname, Number(port || 6379), 1_000, 'PING\r\n')
}

/** True when the Postgres server accepts TCP connections. */
export function postgresAnswers(url = postgresUrl()): Promise<boolean> {
  const { hostname, port } = new URL(url)
  return answers(hostname, Number(port || 5432))
}

/** True when `redis-server` is on the PATH (to start clusters and throwaway servers). */
export function hasRedisServer(): boolean {
  try {
    execFileSync('redis-server', ['--version'], { stdio: 'ignore' })
    return true
  } catch {
    return false
  }
}

/** True when tests may start their own `redis-server`; logs (or, in CI, throws) otherwise. */
export function redisServerAvailable(): boolean {
  return (
    hasRedisServer() ||
    serviceMissing('redis-server', 'install it (apt-get install redis-server) to run outage tests')
  )
}

const warned = new Set<string>()

/**
 * Decides what a suite does when a service is missing: under `CI=true` it throws
 * (CI must provide every service); otherwise it prints a loud notice once and the
 * suite is skipped.
 */
export function serviceMissing(service: string, hint: string): false {
  const message = `${service} is not available: ${hint}`
  if (process.env.CI === 'true') throw new Error(`CI=true and ${message}`)
  if (!warned.has(service)) {
    warned.add(service)
    console.warn(`\n${'!'.repeat(78)}\n!! SKIPPING ${service} TESTS: ${message}\n${'!'.repeat(78)}\n`)
  }
  return false
}
