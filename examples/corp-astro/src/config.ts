import { availableParallelism } from 'node:os'
import { z } from 'zod'

const DEV_JWT_SECRET = 'corp-astro-dev-secret-do-not-use-in-production'

const bool = z
  .enum(['true', 'false', '1', '0', 'on', 'off', 'yes', 'no'], {
    error: 'expected true/false, 1/0, on/off or yes/no',
  })
  .transform((value) => ['true', '1', 'on', 'yes'].includes(value))

const urlList = z
  .string()
  .transform((value) =>
    value
      .split(',')
      .map((entry) => entry.trim())
      .filter(Boolean),
  )
  .pipe(z.array(z.url({ error: 'expected a comma-separated list of URLs' })))

/** The environment variables the app reads (exported so deploy files can be checked against it). */
export const envSchema = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  PORT: z.coerce.number().int().min(0).max(65_535).default(3000),
  HOST: z.string().min(1).default('0.0.0.0'),
  WEB_CONCURRENCY: z.coerce.number().int().min(1).max(64).optional(),
  LISTEN_BACKLOG: z.coerce.number().int().min(1).max(65_535).default(4096),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  TRUST_PROXY: bool.default(false),
  DATABASE_URL: z.url({ error: 'expected a postgres:// URL' }).optional(),
  SHARD_DATABASE_URLS: urlList.optional(),
  SHARD_REPLICA_URLS: z.string().optional(),
  SHARD_COUNT: z.coerce.number().int().min(1).max(64).default(4),
  PG_POOL_MIN: z.coerce.number().int().min(1).default(2),
  PG_POOL_MAX: z.coerce.number().int().min(1).max(500).default(8),
  PG_CONNECT_TIMEOUT_MS: z.coerce.number().int().min(100).max(60_000).default(2_000),
  PG_STATEMENT_TIMEOUT_MS: z.coerce.number().int().min(100).max(600_000).default(1_500),
  PG_QUERY_TIMEOUT_MS: z.coerce.number().int().min(100).max(600_000).default(2_000),
  PGLITE_DATA_DIR: z.string().min(1).optional(),
  REDIS_URL: z.url({ error: 'expected a redis:// URL' }).optional(),
  REDIS_CLUSTER_NODES: z.string().optional(),
  REDIS_PREFIX: z
    .string()
    .regex(/^[a-z0-9:_-]+$/i, 'expected letters, digits, ":", "_" or "-"')
    .default('corp-astro'),
  JWT_SECRET: z.string().min(32, 'expected at least 32 characters').optional(),
  ACCESS_TOKEN_TTL_SECONDS: z.coerce.number().int().min(5).default(900),
  REFRESH_TOKEN_TTL_SECONDS: z.coerce
    .number()
    .int()
    .min(60)
    .default(30 * 24 * 3600),
  ADMIN_EMAILS: z.string().default('admin@corp-astro.dev'),
  ASTRO_URL: z.url().optional(),
  ASTRO_TIMEOUT_MS: z.coerce.number().int().min(1).default(250),
  ASTRO_FAILURE_RATE: z.coerce.number().min(0).max(1).default(0),
  ASTRO_LATENCY_MS: z.coerce.number().int().min(0).default(20),
  HEADROOM: z.enum(['on', 'off']).default('on'),
  SEED: bool.optional(),
  NOTIFICATION_DELAY_MS: z.coerce.number().int().min(0).default(5000),
  ANALYTICS_FLUSH_MS: z.coerce.number().int().min(10).default(1000),
  SHED_EVENT_LOOP_DELAY_MS: z.coerce.number().int().min(1).default(150),
  ADMISSION_TARGET_LAG_MS: z.coerce.number().int().min(1).optional(),
  CLEANUP_INTERVAL_MS: z.coerce.number().int().min(1000).default(3_600_000),
  ALERT_WEBHOOK_URL: z.url({ error: 'expected an http(s) URL' }).optional(),
  ALERT_CPU_PERCENT: z.coerce.number().positive().default(80),
  ALERT_MEMORY_PERCENT: z.coerce.number().positive().max(100).default(85),
  ALERT_ERROR_RATE_PERCENT: z.coerce.number().positive().max(100).default(5),
  ALERT_RESPONSE_TIME_MS: z.coerce.number().positive().default(1000),
})

/** The app's configuration, validated once at start. */
export interface Config {
  env: 'development' | 'production' | 'test'
  port: number
  host: string
  webConcurrency: number
  /** Connections the kernel may queue before they are accepted (capped by net.core.somaxconn). */
  listenBacklog: number
  logLevel: string
  trustProxy: boolean
  database:
    | { kind: 'pglite'; dataDir?: string; shardCount: number }
    | {
        kind: 'postgres'
        url: string
        /** One URL per shard; when empty the shards are schemas in `url`. */
        shardUrls: string[]
        replicaUrls: string[][]
        shardCount: number
        poolMin: number
        poolMax: number
        /** Longest wait for a connection, new or from a full pool (ms). */
        connectTimeoutMs: number
        /** Server-side `statement_timeout` of every session (ms). */
        statementTimeoutMs: number
        /** Client-side deadline of a query once sent (ms); above the statement timeout. */
        queryTimeoutMs: number
      }
  redis: { url?: string; clusterNodes?: { host: string; port: number }[]; prefix: string }
  auth: { secret: string; accessTtlSeconds: number; refreshTtlSeconds: number; adminEmails: Set<string> }
  astro: { url?: string; timeoutMs: number; failureRate: number; latencyMs: number }
  /** False runs the baseline the load test compares against: no cache, no shedding, static pools. */
  headroom: boolean
  seed: boolean
  jobs: { notificationDelayMs: number; analyticsFlushMs: number; cleanupIntervalMs: number }
  /** Event-loop delay p99 (ms) at which the service counts as degraded and sheds free traffic. */
  shedEventLoopDelayMs: number
  /** Event-loop lag the admission control steers to, ms; unset: no admission control. */
  admissionTargetLagMs: number | undefined
  /**
   * Alerts by metric, each worker on its own readings (logged, and posted to `webhookUrl`
   * when set): CPU in % of one core, heap in % of V8's limit, the error rate in % of
   * requests, response time as the p99 in ms.
   */
  alerts: {
    webhookUrl?: string
    cpuPercent: number
    memoryPercent: number
    errorRatePercent: number
    responseTimeMs: number
  }
}

/**
 * Reads the configuration from the environment. Throws one error listing every bad
 * variable, its value and what was expected, so a misconfigured deploy fails at start.
 *
 * @example
 * const config = loadConfig(process.env)
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const input = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== ''))
  const result = envSchema.safeParse(input)
  if (!result.success) {
    const lines = result.error.issues.map((issue) => {
      const name = String(issue.path[0])
      return `  ${name}=${JSON.stringify(input[name])}: ${issue.message}`
    })
    throw new Error(`Invalid configuration:\n${lines.join('\n')}`)
  }
  const e = result.data
  if (e.NODE_ENV === 'production' && !e.JWT_SECRET) {
    throw new Error(
      'Invalid configuration:\n  JWT_SECRET: required (32+ characters) when NODE_ENV=production',
    )
  }
  const shardUrls = e.SHARD_DATABASE_URLS ?? []
  if (shardUrls.length > 0 && !e.DATABASE_URL) {
    throw new Error(
      'Invalid configuration:\n  SHARD_DATABASE_URLS: needs DATABASE_URL (templates live there)',
    )
  }
  if (shardUrls.length > 0 && shardUrls.length !== e.SHARD_COUNT) {
    throw new Error(
      `Invalid configuration:\n  SHARD_DATABASE_URLS: expected ${e.SHARD_COUNT} URLs (SHARD_COUNT), got ${shardUrls.length}`,
    )
  }
  if (e.PG_QUERY_TIMEOUT_MS <= e.PG_STATEMENT_TIMEOUT_MS) {
    // The server's cancel must come first: it answers cleanly and keeps the connection;
    // the client's deadline is for a network path where no answer can come at all.
    throw new Error(
      `Invalid configuration:\n  PG_QUERY_TIMEOUT_MS=${JSON.stringify(input.PG_QUERY_TIMEOUT_MS ?? String(e.PG_QUERY_TIMEOUT_MS))}: expected more than PG_STATEMENT_TIMEOUT_MS (${e.PG_STATEMENT_TIMEOUT_MS})`,
    )
  }
  const replicaUrls = parseReplicas(e.SHARD_REPLICA_URLS, e.SHARD_COUNT)
  const pglite = !e.DATABASE_URL
  return {
    env: e.NODE_ENV,
    port: e.PORT,
    host: e.HOST,
    // PGlite keeps its data inside one process, so workers could not share it. Otherwise one
    // worker per core: a Node process runs JavaScript on one.
    webConcurrency: pglite ? 1 : (e.WEB_CONCURRENCY ?? Math.min(64, availableParallelism())),
    listenBacklog: e.LISTEN_BACKLOG,
    logLevel: e.LOG_LEVEL,
    trustProxy: e.TRUST_PROXY,
    database: e.DATABASE_URL
      ? {
          kind: 'postgres',
          url: e.DATABASE_URL,
          shardUrls,
          replicaUrls,
          shardCount: e.SHARD_COUNT,
          poolMin: Math.min(e.PG_POOL_MIN, e.PG_POOL_MAX),
          poolMax: e.PG_POOL_MAX,
          connectTimeoutMs: e.PG_CONNECT_TIMEOUT_MS,
          statementTimeoutMs: e.PG_STATEMENT_TIMEOUT_MS,
          queryTimeoutMs: e.PG_QUERY_TIMEOUT_MS,
        }
      : {
          kind: 'pglite',
          shardCount: e.SHARD_COUNT,
          ...(e.PGLITE_DATA_DIR ? { dataDir: e.PGLITE_DATA_DIR } : {}),
        },
    redis: {
      ...(e.REDIS_URL ? { url: e.REDIS_URL } : {}),
      ...(e.REDIS_CLUSTER_NODES ? { clusterNodes: parseNodes(e.REDIS_CLUSTER_NODES) } : {}),
      prefix: e.REDIS_PREFIX,
    },
    auth: {
      secret: e.JWT_SECRET ?? DEV_JWT_SECRET,
      accessTtlSeconds: e.ACCESS_TOKEN_TTL_SECONDS,
      refreshTtlSeconds: e.REFRESH_TOKEN_TTL_SECONDS,
      adminEmails: new Set(
        e.ADMIN_EMAILS.split(',')
          .map((email) => email.trim().toLowerCase())
          .filter(Boolean),
      ),
    },
    astro: {
      ...(e.ASTRO_URL ? { url: e.ASTRO_URL } : {}),
      timeoutMs: e.ASTRO_TIMEOUT_MS,
      failureRate: e.ASTRO_FAILURE_RATE,
      latencyMs: e.ASTRO_LATENCY_MS,
    },
    headroom: e.HEADROOM === 'on',
    seed: e.SEED ?? pglite,
    jobs: {
      notificationDelayMs: e.NOTIFICATION_DELAY_MS,
      analyticsFlushMs: e.ANALYTICS_FLUSH_MS,
      cleanupIntervalMs: e.CLEANUP_INTERVAL_MS,
    },
    shedEventLoopDelayMs: e.SHED_EVENT_LOOP_DELAY_MS,
    admissionTargetLagMs: e.ADMISSION_TARGET_LAG_MS,
    alerts: {
      ...(e.ALERT_WEBHOOK_URL ? { webhookUrl: e.ALERT_WEBHOOK_URL } : {}),
      cpuPercent: e.ALERT_CPU_PERCENT,
      memoryPercent: e.ALERT_MEMORY_PERCENT,
      errorRatePercent: e.ALERT_ERROR_RATE_PERCENT,
      responseTimeMs: e.ALERT_RESPONSE_TIME_MS,
    },
  }
}

function parseReplicas(value: string | undefined, shardCount: number): string[][] {
  const entries = (value ?? '').split(',')
  return Array.from({ length: shardCount }, (_, index) =>
    (entries[index] ?? '')
      .split('|')
      .map((url) => url.trim())
      .filter(Boolean),
  )
}

function parseNodes(value: string): { host: string; port: number }[] {
  return value.split(',').map((entry) => {
    const [host, port] = entry.trim().split(':')
    const parsed = Number(port)
    if (!host || !Number.isInteger(parsed)) {
      throw new Error(
        `Invalid configuration:\n  REDIS_CLUSTER_NODES: expected host:port entries, got "${entry}"`,
      )
    }
    return { host, port: parsed }
  })
}
