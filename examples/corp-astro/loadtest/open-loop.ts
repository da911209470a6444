/**
 * The load generator of the curve: one keep-alive connection per user, opened over a
 * ramp and kept open, and requests that arrive at a constant rate whatever the server
 * does (open loop). An arrival goes to a random user whose connection is free; when
 * every connection is busy it waits in the client's queue, as a browser's request waits
 * for its connection, and its latency counts from when it arrived, not from when it could
 * be sent. A request unanswered `timeoutMs` after it arrived is a client timeout: a
 * request still queued is dropped, one in flight closes its connection (the user
 * reconnects, as a client that gave up does).
 *
 * Without `rate` it is a closed loop instead: every connection sends its next request
 * when the last one is answered (the most the server can serve at that concurrency).
 */
import { type Answer, Connection, type OutgoingRequest } from './connection.js'
import type { LoadUser, Request } from './scenario.js'

export interface LoadOptions {
  host: string
  port: number
  users: LoadUser[]
  /** Arrivals per second once every connection is open (each user's share arrives from its connect); closed loop when absent. */
  rate?: number
  /** From the first connection to the last arrival, ramp included. */
  durationS: number
  /** Connections open evenly over this many seconds; 0 opens them all at once. */
  rampS: number
  timeoutMs: number
  /** A user's next request. */
  next: (user: LoadUser) => Request
  /** Folds an answer back into the user's state. */
  onAnswer?: (user: LoadUser, kind: string, status: number, body: string) => void
  /** Headers of a user's requests (identity, client IP). */
  headers?: (user: LoadUser) => Record<string, string>
}

export interface Distribution {
  count: number
  p50: number
  p99: number
  max: number
}

export interface SecondOfRun {
  second: number
  arrivals: number
  served: number
  refused: number
  timeouts: number
  servedP99: number
}

export interface LoadResult {
  offeredRps: number
  seconds: number
  arrivals: number
  answered: number
  /** Answers per second (any status). */
  achievedRps: number
  /** 2xx answers per second. */
  goodputRps: number
  /** Latency of 2xx answers (ms, from arrival). */
  served: Distribution
  /** 429 and 503 answers: latency (ms) and how many carried Retry-After. */
  refused: Distribution & { withRetryAfter: number }
  /** Other answers >= 300 by status. */
  errors: Record<string, number>
  /** Requests not answered within the client's timeout (queued or in flight). */
  timeouts: number
  /** Connections reset or refused while a request was on them. */
  socketErrors: number
  /** TCP handshake durations (ms). */
  connect: Distribution
  /** Latency of the first served request on each new connection (ms). */
  firstOnConnection: Distribution
  /** Served p99 by request kind (ms). */
  p99ByKind: Record<string, number>
  refusedByKind: Record<string, number>
  /** The `detail` of the first refusal of each status: what refused. */
  refusalDetails: Record<string, string>
  timeline: SecondOfRun[]
  /** CPU the generator itself used (ms). */
  generatorCpuMs: number
}

interface Slot {
  user: LoadUser
  connection: Connection
  state: 'waiting' | 'connecting' | 'idle' | 'busy'
  /** Arrival time (performance.now()) of the request in flight. */
  arrivedAt: number
  /** Bumped when a request is given up, so its late settlement is ignored. */
  generation: number
}

export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  const { users, timeoutMs } = options
  const rampMs = options.rampS * 1000
  const durationMs = options.durationS * 1000
  const perMs = (options.rate ?? 0) / 1000
  const closedLoop = options.rate === undefined
  const cpuBefore = process.cpuUsage()
  const slots: Slot[] = users.map((user) => ({
    user,
    connection: new Connection(options.host, options.port),
    state: 'waiting',
    arrivedAt: 0,
    generation: 0,
  }))
  const idle: number[] = []
  const queue: number[] = []
  let queueHead = 0
  const served: number[] = []
  const refused: number[] = []
  const connects: number[] = []
  const firsts: number[] = []
  const byKind = new Map<string, number[]>()
  const refusedByKind: Record<string, number> = {}
  const refusalDetails: Record<string, string> = {}
  const errors: Record<string, number> = {}
  const seconds: { arrivals: number; served: number[]; refused: number; timeouts: number }[] = []
  const secondOf = (at: number) => {
    const index = Math.max(0, Math.floor((at - t0) / 1000))
    for (let i = seconds.length; i <= index; i++)
      seconds.push({ arrivals: 0, served: [], refused: 0, timeouts: 0 })
    return seconds[index]!
  }
  let withRetryAfter = 0
  let timeouts = 0
  let socketErrors = 0
  let answered = 0
  let arrivals = 0
  let opened = 0
  let inFlight = 0
  const t0 = performance.now()
  let done = false

  const timedOut = (arrivedAt: number) => {
    timeouts++
    secondOf(arrivedAt).timeouts++
  }

  const open = (index: number) => {
    const slot = slots[index]!
    slot.state = 'connecting'
    slot.connection.connect().then(
      (ms) => {
        connects.push(ms)
        becomeFree(index)
      },
      () => {
        socketErrors++
        slot.state = 'waiting'
        // The server refused or reset the handshake: try again shortly, as a client would.
        if (!done) setTimeout(() => open(index), 100)
      },
    )
  }

  const becomeFree = (index: number) => {
    const slot = slots[index]!
    if (done && !closedLoop) {
      slot.state = 'idle'
      return
    }
    if (closedLoop) {
      if (done) {
        slot.state = 'idle'
        return
      }
      send(index, performance.now())
      return
    }
    const now = performance.now()
    while (queueHead < queue.length) {
      const arrivedAt = queue[queueHead++]!
      if (now - arrivedAt >= timeoutMs) {
        timedOut(arrivedAt)
        continue
      }
      send(index, arrivedAt)
      return
    }
    slot.state = 'idle'
    idle.push(index)
  }

  const send = (index: number, arrivedAt: number) => {
    const slot = slots[index]!
    slot.state = 'busy'
    slot.arrivedAt = arrivedAt
    const generation = ++slot.generation
    if (!slot.connection.open) {
      // The server closed the idle connection (its keep-alive timeout): reconnect first,
      // as a client does; the handshake counts in this request's latency.
      inFlight++
      slot.connection.connect().then(
        (ms) => {
          connects.push(ms)
          if (slot.generation !== generation) return
          inFlight--
          slot.generation--
          send(index, arrivedAt)
        },
        () => {
          if (slot.generation !== generation) return
          inFlight--
          socketErrors++
          slot.connection.destroy()
          if (done) slot.state = 'waiting'
          else open(index)
        },
      )
      return
    }
    const request = options.next(slot.user)
    const first = slot.connection.answered === 0
    const outgoing: OutgoingRequest = {
      method: request.method,
      path: request.path,
      headers: {
        ...options.headers?.(slot.user),
        ...(request.body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(request.body === undefined ? {} : { body: request.body }),
    }
    inFlight++
    slot.connection.send(outgoing).then(
      (answer) => {
        if (slot.generation !== generation) return
        inFlight--
        record(slot, request.kind, answer, first)
        // A closed-loop client told to come back later does so: hammering refusals would
        // measure how fast the server refuses, not what it serves.
        const backOffS =
          closedLoop && (answer.status === 429 || answer.status === 503) ? Number(answer.retryAfter) : 0
        if (backOffS > 0 && !done) setTimeout(() => becomeFree(index), backOffS * 1000)
        else becomeFree(index)
      },
      () => {
        if (slot.generation !== generation) return
        inFlight--
        socketErrors++
        slot.connection.destroy()
        if (done) slot.state = 'waiting'
        else open(index)
      },
    )
  }

  const record = (slot: Slot, kind: string, answer: Answer, first: boolean) => {
    const now = performance.now()
    const ms = now - slot.arrivedAt
    answered++
    options.onAnswer?.(slot.user, kind, answer.status, answer.body)
    const second = secondOf(slot.arrivedAt)
    if (answer.status < 300) {
      served.push(ms)
      second.served.push(ms)
      if (first) firsts.push(ms)
      const list = byKind.get(kind)
      if (list) list.push(ms)
      else byKind.set(kind, [ms])
    } else if (answer.status === 429 || answer.status === 503) {
      refused.push(ms)
      second.refused++
      if (answer.retryAfter) withRetryAfter++
      refusedByKind[`${kind} ${answer.status}`] = (refusedByKind[`${kind} ${answer.status}`] ?? 0) + 1
      refusalDetails[answer.status] ??= detailOf(answer.body)
    } else {
      errors[answer.status] = (errors[answer.status] ?? 0) + 1
      const label = `${kind} ${answer.status}`
      errors[label] = (errors[label] ?? 0) + 1
    }
  }

  /** Arrivals due by `t` ms after the start: each open connection's share of the rate. */
  const dueBy = (t: number) => {
    const end = Math.min(t, durationMs)
    if (rampMs === 0) return perMs * end
    if (end <= rampMs) return (perMs * end * end) / (2 * rampMs)
    return perMs * (end - rampMs / 2)
  }
  /** When arrival `k` (0-based) was due, inverse of dueBy. */
  const arrivalTime = (k: number) => {
    if (rampMs === 0) return k / perMs
    const atRampEnd = (perMs * rampMs) / 2
    return k < atRampEnd ? Math.sqrt((2 * rampMs * k) / perMs) : k / perMs + rampMs / 2
  }

  const arrive = (arrivedAt: number) => {
    arrivals++
    secondOf(arrivedAt).arrivals++
    if (idle.length > 0) {
      const pick = Math.floor(Math.random() * idle.length)
      const index = idle[pick]!
      idle[pick] = idle[idle.length - 1]!
      idle.pop()
      send(index, arrivedAt)
    } else {
      queue.push(arrivedAt)
    }
  }

  let lastSweep = t0
  const sweep = (now: number) => {
    // Requests in flight past the client's timeout: give up and reconnect.
    for (let index = 0; index < slots.length; index++) {
      const slot = slots[index]!
      if (slot.state !== 'busy' || now - slot.arrivedAt < timeoutMs) continue
      slot.generation++
      inFlight--
      timedOut(slot.arrivedAt)
      slot.connection.destroy()
      slot.state = 'waiting'
      if (!done) open(index)
    }
    while (queueHead < queue.length && now - queue[queueHead]! >= timeoutMs) timedOut(queue[queueHead++]!)
    if (queueHead > 10_000) {
      queue.splice(0, queueHead)
      queueHead = 0
    }
  }

  await new Promise<void>((resolve) => {
    const tick = () => {
      const now = performance.now()
      const t = now - t0
      while (opened < slots.length && (rampMs === 0 || t >= (rampMs * opened) / slots.length)) open(opened++)
      if (!closedLoop && t < durationMs) {
        const due = Math.floor(dueBy(t))
        while (arrivals < due) arrive(t0 + arrivalTime(arrivals))
      }
      if (now - lastSweep >= 50) {
        lastSweep = now
        sweep(now)
      }
      if (t >= durationMs) {
        done = true
        // Whatever is still queued or in flight gets its full timeout to be answered.
        const pendingQueued = queue.length - queueHead
        if ((inFlight === 0 && pendingQueued === 0) || t >= durationMs + timeoutMs + 100) {
          sweep(now + timeoutMs)
          resolve()
          return
        }
      }
      setTimeout(tick, 1)
    }
    tick()
  })
  for (const slot of slots) slot.connection.destroy()

  const elapsedS = Math.min(performance.now() - t0, durationMs) / 1000
  // Closed loop: rates over the whole run; paced: over the arrivals' span.
  const spanS = closedLoop ? elapsedS : options.durationS
  const goodput = served.length
  const p99ByKind: Record<string, number> = {}
  for (const [kind, list] of byKind) p99ByKind[kind] = distribution(list).p99
  const cpu = process.cpuUsage(cpuBefore)
  return {
    offeredRps: options.rate ?? 0,
    seconds: spanS,
    arrivals: closedLoop ? answered + timeouts + socketErrors : arrivals,
    answered,
    achievedRps: answered / spanS,
    goodputRps: goodput / spanS,
    served: distribution(served),
    refused: { ...distribution(refused), withRetryAfter },
    errors,
    timeouts,
    socketErrors,
    connect: distribution(connects),
    firstOnConnection: distribution(firsts),
    p99ByKind,
    refusedByKind,
    refusalDetails,
    timeline: seconds.map((s, second) => ({
      second,
      arrivals: s.arrivals,
      served: s.served.length,
      refused: s.refused,
      timeouts: s.timeouts,
      servedP99: distribution(s.served).p99,
    })),
    generatorCpuMs: (cpu.user + cpu.system) / 1000,
  }
}

function detailOf(body: string): string {
  try {
    return String((JSON.parse(body) as { detail?: unknown }).detail ?? body).slice(0, 200)
  } catch {
    return body.slice(0, 200)
  }
}

export function distribution(values: number[]): Distribution {
  if (values.length === 0) return { count: 0, p50: 0, p99: 0, max: 0 }
  const sorted = Float64Array.from(values).sort()
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!
  return { count: sorted.length, p50: at(0.5), p99: at(0.99), max: sorted[sorted.length - 1]! }
}
