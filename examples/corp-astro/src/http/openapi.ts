import { z } from 'zod'
import { eventsSchema, summarySchema } from '../analytics/routes.js'
import { loginSchema, refreshSchema, registerSchema } from '../auth/routes.js'
import { dailySchema } from '../content/routes.js'
import { createSchema as profileCreateSchema, patchSchema as profilePatchSchema } from '../profiles/routes.js'
import { monthlySchema } from '../reports/routes.js'
import { patchSchema as userPatchSchema } from '../users/routes.js'
import { paginationSchema, uuidSchema } from './schemas.js'

/** One operation the app serves; `path` in Express form (`/api/reports/:id`). */
export interface ApiRoute {
  method: 'get' | 'post' | 'patch' | 'delete'
  path: string
  summary: string
  /** Needs `Authorization: Bearer <accessToken>`. */
  auth?: boolean
  body?: z.ZodType
  query?: z.ZodObject
  /** The status of a success. @default 200 */
  status?: number
}

/**
 * Every route the app mounts, with the zod schemas its handlers validate against: the
 * OpenAPI document and the `GET /` index are generated from this list, and a test walks
 * the Express router to prove the list names every mounted route.
 */
export const API_ROUTES: readonly ApiRoute[] = [
  { method: 'get', path: '/', summary: 'This index: the routes and commands to try' },
  { method: 'get', path: '/openapi.json', summary: 'This API as an OpenAPI 3.1 document' },
  { method: 'get', path: '/livez', summary: 'Liveness: 200 while the process runs' },
  { method: 'get', path: '/readyz', summary: 'Readiness: 503 while draining or the database is down' },
  { method: 'get', path: '/health', summary: 'Status of every check (RFC health+json)' },
  { method: 'get', path: '/metrics', summary: 'Prometheus metrics' },
  {
    method: 'post',
    path: '/api/auth/register',
    summary: 'Create an account',
    body: registerSchema,
    status: 201,
  },
  {
    method: 'post',
    path: '/api/auth/login',
    summary: 'Log in: access and refresh tokens',
    body: loginSchema,
  },
  { method: 'post', path: '/api/auth/refresh', summary: 'Rotate the refresh token', body: refreshSchema },
  {
    method: 'post',
    path: '/api/auth/logout',
    summary: 'Revoke the session',
    body: refreshSchema,
    status: 204,
  },
  { method: 'get', path: '/api/users/me', summary: 'The caller', auth: true },
  {
    method: 'patch',
    path: '/api/users/me',
    summary: 'Change name or tier',
    auth: true,
    body: userPatchSchema,
  },
  { method: 'get', path: '/api/users/me/notifications', summary: 'Report-ready notifications', auth: true },
  {
    method: 'get',
    path: '/api/business-profiles',
    summary: "The caller's business profiles, paginated",
    auth: true,
    query: paginationSchema,
  },
  {
    method: 'post',
    path: '/api/business-profiles',
    summary: 'Create a business profile',
    auth: true,
    body: profileCreateSchema,
    status: 201,
  },
  { method: 'get', path: '/api/business-profiles/:id', summary: 'One business profile', auth: true },
  {
    method: 'patch',
    path: '/api/business-profiles/:id',
    summary: 'Update a business profile',
    auth: true,
    body: profilePatchSchema,
  },
  {
    method: 'delete',
    path: '/api/business-profiles/:id',
    summary: 'Delete a business profile',
    auth: true,
    status: 204,
  },
  {
    method: 'get',
    path: '/api/content/daily',
    summary: "Today's horoscope for a profile",
    auth: true,
    query: dailySchema,
  },
  {
    method: 'get',
    path: '/api/content',
    summary: "The caller's content, paginated",
    auth: true,
    query: paginationSchema,
  },
  { method: 'get', path: '/api/content/:id', summary: 'One content item (ETag/304)', auth: true },
  {
    method: 'post',
    path: '/api/reports/monthly',
    summary: 'Queue a monthly report (a job, prioritised by tier)',
    auth: true,
    body: monthlySchema,
    status: 202,
  },
  { method: 'get', path: '/api/reports/:id', summary: "A report's status and result", auth: true },
  {
    method: 'post',
    path: '/api/analytics/events',
    summary: 'Queue analytics events durably',
    auth: true,
    body: eventsSchema,
    status: 202,
  },
  {
    method: 'get',
    path: '/api/analytics/summary',
    summary: 'Events per type over every shard (admins)',
    auth: true,
    query: summarySchema,
  },
]

/** `/api/reports/:id` -> `/api/reports/{id}` */
export const openApiPath = (path: string) => path.replace(/:([A-Za-z_]\w*)/g, '{$1}')

// The request side of each schema (coerced query strings, defaults optional); transforms
// and refinements have no JSON Schema form and are described by their base type.
function jsonSchema(schema: z.ZodType): Record<string, unknown> {
  // OpenAPI 3.1's dialect is draft 2020-12 already; `$schema` on every fragment is noise.
  const { $schema: _dialect, ...rest } = z.toJSONSchema(schema, {
    io: 'input',
    unrepresentable: 'any',
    target: 'draft-2020-12',
  })
  return rest
}

const problem = { description: 'RFC 9457 problem', content: { 'application/problem+json': {} } }

/** The OpenAPI 3.1 document of {@link API_ROUTES}. */
export function buildOpenApiDocument(serverUrl?: string): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {}
  for (const route of API_ROUTES) {
    const parameters: unknown[] = []
    for (const [name] of route.path.matchAll(/:([A-Za-z_]\w*)/g)) {
      parameters.push({ name: name.slice(1), in: 'path', required: true, schema: jsonSchema(uuidSchema) })
    }
    if (route.query) {
      const { properties = {}, required = [] } = jsonSchema(route.query) as {
        properties?: Record<string, unknown>
        required?: string[]
      }
      for (const [name, schema] of Object.entries(properties)) {
        parameters.push({ name, in: 'query', required: required.includes(name), schema })
      }
    }
    const status = String(route.status ?? 200)
    paths[openApiPath(route.path)] ??= {}
    paths[openApiPath(route.path)]![route.method] = {
      summary: route.summary,
      ...(parameters.length > 0 ? { parameters } : {}),
      ...(route.body
        ? {
            requestBody: {
              required: true,
              content: { 'application/json': { schema: jsonSchema(route.body) } },
            },
          }
        : {}),
      ...(route.auth ? { security: [{ bearer: [] }] } : {}),
      responses: {
        [status]: { description: status === '204' ? 'No content' : 'Success' },
        ...(route.body || route.query ? { 400: problem } : {}),
        ...(route.auth ? { 401: problem } : {}),
        ...(route.path.startsWith('/api/') ? { 429: problem, 503: problem } : {}),
      },
    }
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'Corp Astro',
      version: '0.0.0',
      description: 'Business horoscopes, on every Headroom package. Errors are application/problem+json.',
    },
    ...(serverUrl ? { servers: [{ url: serverUrl }] } : {}),
    components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } } },
    paths,
  }
}
