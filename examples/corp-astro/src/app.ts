import compression from 'compression'
import express, { type Express, type RequestHandler } from 'express'
import helmet from 'helmet'
import { pinoHttp } from 'pino-http'
import { analyticsRouter } from './analytics/routes.js'
import { identify } from './auth/authenticate.js'
import { authRouter } from './auth/routes.js'
import { contentRouter } from './content/routes.js'
import type { AppContext } from './context.js'
import { discoveryRouter } from './http/discovery.js'
import { fixedHeaders } from './http/fixed-headers.js'
import { notFoundHandler, problemHandler } from './http/problem.js'
import { httpLogSerializers } from './logger.js'
import { createAdmission } from './platform/admission.js'
import { priorityOf } from './platform/health.js'
import { createMetrics } from './platform/metrics.js'
import { profilesRouter } from './profiles/routes.js'
import { reportsRouter } from './reports/routes.js'
import { usersRouter } from './users/routes.js'

const PROBES = new Set(['/livez', '/readyz', '/health', '/metrics'])

/**
 * The security headers of a JSON API (OWASP REST Security Cheat Sheet): no document is
 * ever rendered from these responses, so helmet's document-oriented defaults (a 300-byte
 * CSP for pages, COOP, Origin-Agent-Cluster, DNS prefetch, IE download options, ...)
 * would only add bytes to every answer. What remains: nothing may load or frame a
 * response, HSTS, no MIME sniffing, no referrer.
 */
const API_SECURITY_HEADERS: Parameters<typeof helmet>[0] = {
  contentSecurityPolicy: {
    useDefaults: false,
    directives: { defaultSrc: ["'none'"], frameAncestors: ["'none'"] },
  },
  xFrameOptions: { action: 'deny' },
  strictTransportSecurity: { maxAge: 31_536_000, includeSubDomains: true },
  xContentTypeOptions: true,
  referrerPolicy: { policy: 'no-referrer' },
  crossOriginOpenerPolicy: false,
  crossOriginResourcePolicy: false,
  crossOriginEmbedderPolicy: false,
  originAgentCluster: false,
  xDnsPrefetchControl: false,
  xDownloadOptions: false,
  xPermittedCrossDomainPolicies: false,
  xXssProtection: false,
  xPoweredBy: true,
}

/**
 * The Express app. Order matters: probes and metrics answer before anything that
 * could refuse them; the token is read before shedding and limiting, which need the
 * tier; the body is parsed only for requests that got past both.
 */
export function createApp(ctx: AppContext): Express {
  const app = express()
  app.disable('x-powered-by')
  // Express would hash every body for a weak ETag; the cached routes set their own (304s included).
  app.set('etag', false)
  app.set('trust proxy', ctx.config.trustProxy)

  const metrics = createMetrics(ctx)

  // helmet's headers, computed once: its chained middlewares cost a next() hop each per request.
  app.use(fixedHeaders(helmet(API_SECURITY_HEADERS)))
  // pino-http costs a child logger per request; below info it would log nothing anyway.
  app.use(
    ctx.logger.isLevelEnabled('info')
      ? pinoHttp({
          logger: ctx.logger,
          serializers: httpLogSerializers,
          autoLogging: { ignore: (req) => PROBES.has(req.url ?? '') },
          customLogLevel: (_req, res, error) =>
            error || (res.statusCode >= 500 && res.statusCode !== 503)
              ? 'error'
              : res.statusCode === 503
                ? 'warn'
                : 'info',
        })
      : (req, _res, next) => {
          req.log = ctx.logger
          next()
        },
  )
  app.use(ctx.health.probes)
  app.get('/metrics', metrics.handler)
  app.use(discoveryRouter({ seeded: ctx.config.seed }))
  app.use(ctx.health.track)
  app.use(metrics.observe)
  // compression hooks every response it sees; a client that accepts no encoding gets none anyway.
  const compress = compression({ threshold: 2048 })
  app.use((req, res, next) => (req.headers['accept-encoding'] ? compress(req, res, next) : next()))

  // A GET or HEAD carries no body to parse; some clients still send Content-Length: 0.
  const json = express.json({ limit: '64kb' })
  const parseBody: RequestHandler = (req, res, next) =>
    req.method === 'GET' || req.method === 'HEAD' ? next() : json(req, res, next)
  // Admission first (fast, per request, from the event-loop lag), then the health status's
  // shedding (slow, from one-second samples): both need the tier the token names.
  // Admission is opt-in (ADMISSION_TARGET_LAG_MS): it counts requests waiting on a hung
  // dependency as work in flight, so on a host whose CPU is shared it can refuse users of
  // healthy shards while one shard hangs; the load test turns it on.
  const admissionTargetLagMs = ctx.config.admissionTargetLagMs
  const admit =
    ctx.config.headroom && admissionTargetLagMs !== undefined
      ? createAdmission({
          targetLagMs: admissionTargetLagMs,
          priority: priorityOf,
          retryAfterSeconds: 1,
        }).middleware
      : undefined
  app.use('/api', identify(ctx.tokens), ...(admit ? [admit] : []), ctx.health.shed, parseBody)
  app.use('/api/auth', authRouter(ctx))
  app.use('/api/users', usersRouter(ctx))
  app.use('/api/business-profiles', profilesRouter(ctx))
  app.use('/api/content', contentRouter(ctx))
  app.use('/api/reports', reportsRouter(ctx))
  app.use('/api/analytics', analyticsRouter(ctx))

  app.use(notFoundHandler)
  app.use(problemHandler)
  return app
}
