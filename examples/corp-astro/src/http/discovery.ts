import { type Request, Router } from 'express'
import { API_ROUTES, buildOpenApiDocument } from './openapi.js'
import { tryItCommands } from './try-it.js'

const baseUrlOf = (req: Request) => `${req.protocol}://${req.get('host') ?? '127.0.0.1'}`

/**
 * `GET /`: what this API is and what to try; `GET /openapi.json`: the OpenAPI 3.1 document
 * generated from the routes' zod schemas. Both are public and cheap, like the probes.
 */
export function discoveryRouter(options: { seeded: boolean }): Router {
  const router = Router()
  router.get('/', (req, res) => {
    res.json({
      name: 'corp-astro',
      description: 'Business horoscopes for companies, on every Headroom package',
      openapi: '/openapi.json',
      routes: API_ROUTES.map(
        (route) =>
          `${route.method.toUpperCase()} ${route.path}${route.auth ? ' (Bearer)' : ''}: ${route.summary}`,
      ),
      try: tryItCommands(baseUrlOf(req), options.seeded),
    })
  })
  // Built on first request: zod's JSON Schema conversion is not free and most processes never serve it.
  let document: string | undefined
  router.get('/openapi.json', (_req, res) => {
    document ??= JSON.stringify(buildOpenApiDocument())
    res.type('application/json').send(document)
  })
  return router
}
