import { type Breaker, type BreakerStats, createBreaker } from '@headroom/breaker'
import type { RedisClient } from '@headroom/core'
import { createAstroClient } from '../astro/client.js'
import type { Forecast } from '../astro/service.js'
import type { ForecastSource } from '../content/generator.js'
import { type AppLogger, boundLogger } from '../logger.js'
import type { AppCache } from './cache.js'

/** A forecast is the same for every user of a sign on a day: one call per sign and day is enough. */
const FORECAST_TTL_MS = 3_600_000

/** The breaker's fallback answered: nothing to cache. */
class NoForecast extends Error {}

export interface AstroGateway {
  /** The forecast, or null (template-only content) when the service fails or the breaker is open. */
  forecast: ForecastSource
  readonly breaker: Breaker<[string, string], Forecast | null>
  stats(): BreakerStats
  close(): Promise<void>
}

/**
 * The astro service behind `@headroom/breaker`: after half the calls in a 10 s window
 * fail (or time out), the breaker opens for 5 s and content falls back to templates
 * at once instead of waiting on a dead service. With Redis the state is shared: when
 * one worker opens, all do, and one probe tests the service for the whole fleet.
 * Forecasts are cached per sign and day (with Headroom on), so the service is asked
 * about a dozen times a day, not once per new piece of content; a fallback (null) is
 * not cached, so content goes back to full forecasts as soon as the service answers.
 */
export function createAstroGateway(options: {
  url: string
  timeoutMs: number
  redis: RedisClient | undefined
  prefix: string
  logger: AppLogger
  cache: AppCache
}): AstroGateway {
  const client = createAstroClient({ url: options.url, timeoutMs: options.timeoutMs })
  const logger = options.logger.child({ component: 'breaker', name: 'astro' })
  const breaker = createBreaker<[string, string], Forecast | null>(
    (sign, date) => client.forecast(sign, date),
    {
      name: 'astro',
      // The client's own AbortSignal ends the request; this bounds the whole call.
      timeout: options.timeoutMs + 50,
      errorThresholdPercentage: 50,
      volumeThreshold: 10,
      resetTimeout: 5_000,
      slowCallMs: Math.max(1, Math.floor(options.timeoutMs * 0.8)),
      slowCallRate: 80,
      halfOpenProbes: 2,
      fallback: () => null,
      ...(options.redis
        ? { shared: { name: 'astro', redis: options.redis, prefix: `${options.prefix}:breaker` } }
        : {}),
      logger: boundLogger(options.logger),
    },
  )
  breaker.on('state', (change) =>
    logger.warn({ state: change.state, reason: change.reason }, 'astro breaker'),
  )
  const fetchForecast = async (sign: string, date: string): Promise<Forecast> => {
    const forecast = await breaker.fire(sign, date)
    if (forecast === null) throw new NoForecast()
    return forecast
  }
  return {
    forecast: (sign, date) =>
      options.cache
        .getOrSet(`astro:forecast:${sign}:${date}`, () => fetchForecast(sign, date), { ttl: FORECAST_TTL_MS })
        // No forecast (breaker open, service failing, cache closed): the content is template-only.
        .catch(() => null),
    breaker,
    stats: () => breaker.stats(),
    close: () => breaker.close(),
  }
}
