/**
 * The context a Hono middleware receives, as far as the fetch adapters of the Headroom packages use it (structural,
 * so no Hono types are needed to compile against them).
 */
export interface HonoLikeContext {
  req: { raw: Request }
  res: Response | undefined
}

/** The rest of the chain in the plain fetch form: it answers the request. */
export type FetchNext = () => Promise<Response>

/**
 * A fetch-standard middleware in two shapes at once:
 * - plain: `(request, next) => Promise<Response>`, where `next()` answers the request;
 * - Hono: `app.use(middleware)`, called as `(c, next)`.
 */
export interface FetchMiddleware {
  (request: Request, next: FetchNext): Promise<Response>
  (c: HonoLikeContext, next: () => Promise<void>): Promise<Response | undefined>
}

/** The handler behind both shapes: `context` is the Hono context when there is one. */
export type FetchHandler = (
  request: Request,
  next: FetchNext,
  context: HonoLikeContext | undefined,
) => Promise<Response>

/**
 * Wraps a handler so it runs as plain fetch middleware and as Hono middleware. Under Hono,
 * the Response the handler returns becomes `c.res` as is: it is cleared first because
 * Hono's setter would otherwise copy the previous response's headers over it (an ETag on
 * a 304, a Content-Length on a replaced body).
 */
export function toFetchMiddleware(handler: FetchHandler): FetchMiddleware {
  async function middleware(
    input: Request | HonoLikeContext,
    next: FetchNext | (() => Promise<void>),
  ): Promise<Response | undefined> {
    if (input instanceof Request) return handler(input, next as FetchNext, undefined)
    const c = input
    const response = await handler(
      c.req.raw,
      async () => {
        await (next as () => Promise<void>)()
        return c.res as Response
      },
      c,
    )
    if (response !== c.res) {
      c.res = undefined
      c.res = response
    }
    return response
  }
  return middleware as FetchMiddleware
}

/** A copy of `response` whose headers can be changed (a fetched Response's are immutable). */
export function withHeaders(response: Response, headers: Iterable<[string, string]>): Response {
  const copy = new Response(response.body, response)
  for (const [name, value] of headers) copy.headers.set(name, value)
  return copy
}
