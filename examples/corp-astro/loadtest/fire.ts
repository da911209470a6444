/**
 * Drives load with autocannon, one user per connection: closed loop (every connection
 * sends its next request as soon as the last one answered) or paced (every connection
 * sends at most `perConnection` requests a second, the connections' seconds staggered
 * across the second so arrivals are spread, not one burst of 1,000).
 */
import autocannon, { type Instance } from 'autocannon'
import { type LoadUser, nextRequest, onResponse, type Request } from './scenario.js'

/** What one run measured; latencies are per request, from its send to its last byte. */
export interface Outcome {
  rps: number
  meanMs: number
  p50Ms: number
  p99Ms: number
  errorRate: number
  requests: number
  statuses: Record<string, number>
  /** Answers >= 300 by request kind and status, e.g. `{ "refresh 401": 3 }`. */
  failuresByKind: Record<string, number>
  /** p99 latency (ms) by request kind. */
  p99ByKind: Record<string, number>
}

export interface FireOptions {
  base: string
  users: LoadUser[]
  connections: number
  durationS: number
  /** Picks a user's next request; the seed's weighted mix by default. */
  next?: (user: LoadUser) => Request
  /** Requests per second per connection; closed loop when absent. */
  perConnection?: number
}

/** Connections of one paced group: groups start `1 s / groups` apart. */
const PACED_GROUP = 50

export async function fire(options: FireOptions): Promise<Outcome> {
  const { connections, perConnection } = options
  const groups = perConnection ? Math.max(1, Math.ceil(connections / PACED_GROUP)) : 1
  const latencies: number[] = []
  const statuses: Record<string, number> = {}
  const failuresByKind: Record<string, number> = {}
  const byKind = new Map<string, number[]>()
  // autocannon calls the request's onResponse hook, then emits 'response' with the
  // latency, synchronously for the same client: the kind seen last is this answer's.
  let lastKind = ''
  const onAnswer = (kind: string, status: number) => {
    lastKind = kind
    if (status < 300) return
    const label = `${kind} ${status}`
    failuresByKind[label] = (failuresByKind[label] ?? 0) + 1
  }
  let slot = 0
  let errors = 0
  let timeouts = 0
  const started = performance.now()
  const runs: Promise<unknown>[] = []
  for (let group = 0; group < groups; group++) {
    const size = Math.floor(connections / groups) + (group < connections % groups ? 1 : 0)
    if (group > 0) await new Promise((resolve) => setTimeout(resolve, 1000 / groups))
    const instance = start(options, size, () => slot++, onAnswer)
    instance.on('response', (_client: unknown, status: number, _bytes: number, ms: number) => {
      latencies.push(ms)
      const ofKind = byKind.get(lastKind)
      if (ofKind) ofKind.push(ms)
      else byKind.set(lastKind, [ms])
      lastKind = ''
      statuses[status] = (statuses[status] ?? 0) + 1
    })
    runs.push(
      instance.then((result) => {
        errors += result.errors - result.timeouts
        timeouts += result.timeouts
      }),
    )
  }
  await Promise.all(runs)
  const seconds = (performance.now() - started) / 1000 - (groups > 1 ? (groups - 1) / groups : 0)
  const p99ByKind: Record<string, number> = {}
  for (const [kind, values] of byKind)
    if (kind)
      p99ByKind[kind] = quantile(
        values.sort((a, b) => a - b),
        0.99,
      )
  latencies.sort((a, b) => a - b)
  const at = (q: number) => quantile(latencies, q)
  let failed = errors + timeouts
  for (const [code, count] of Object.entries(statuses)) if (Number(code) >= 300) failed += count
  if (errors) statuses.socketErrors = errors
  if (timeouts) statuses.timeouts = timeouts
  return {
    rps: latencies.length / seconds,
    meanMs: latencies.reduce((sum, ms) => sum + ms, 0) / Math.max(1, latencies.length),
    p50Ms: at(0.5),
    p99Ms: at(0.99),
    errorRate: failed / Math.max(1, latencies.length + errors + timeouts),
    requests: latencies.length,
    statuses,
    failuresByKind,
    p99ByKind,
  }
}

/** The q-quantile of sorted values (0 when empty). */
function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0
}

function start(
  options: FireOptions,
  connections: number,
  nextSlot: () => number,
  onAnswer: (kind: string, status: number) => void,
): Instance {
  const { users } = options
  const next = options.next ?? nextRequest
  return autocannon({
    url: options.base,
    connections,
    duration: options.durationS,
    timeout: 10,
    ...(options.perConnection
      ? {
          overallRate: options.perConnection * connections,
          // autocannon's correction assumes `1 / rate` ms between requests (a per-second
          // rate read as milliseconds) and would add phantom samples; the paced run stays
          // honest another way: its achieved RPS shows whether the app kept up.
          ignoreCoordinatedOmission: true,
        }
      : {}),
    setupClient(client) {
      // One user per connection. autocannon builds a client's first request before it calls
      // setupClient (setupRequest below took a slot then) and resets the context after each
      // request: keep that slot as the context every reset starts from (setupRequest sets the kind
      // of each request after the reset).
      const iterator = (
        client as unknown as {
          requestIterator: {
            context: { slot?: number; kind?: string }
            initialContext: object
            resetContext(): void
          }
        }
      ).requestIterator
      // The kind too: the first answer must be read as what it is (a rotated refresh token).
      const { slot, kind } = iterator.context
      iterator.initialContext = { slot: slot ?? nextSlot() % users.length, kind }
      iterator.resetContext()
    },
    requests: [
      {
        setupRequest(request, context) {
          const state = context as { slot?: number; kind?: string }
          state.slot ??= nextSlot() % users.length
          const user = users[state.slot]!
          const chosen: Request = next(user)
          state.kind = chosen.kind
          return {
            ...request,
            method: chosen.method,
            path: chosen.path,
            headers: {
              'x-forwarded-for': user.ip,
              authorization: `Bearer ${user.accessToken}`,
              ...(chosen.body ? { 'content-type': 'application/json' } : {}),
            },
            ...(chosen.body ? { body: chosen.body } : { body: undefined }),
          }
        },
        onResponse(status, body, context) {
          const { slot, kind } = context as { slot?: number; kind?: string }
          if (kind) onAnswer(kind, status)
          if (slot !== undefined && kind) onResponse(users[slot]!, kind, status, body)
        },
      },
    ],
  })
}
