// The parts of autocannon's API the load test uses (the package ships no types).
declare module 'autocannon' {
  interface RawRequest {
    method?: string
    path?: string
    headers?: Record<string, string>
    body?: string | undefined
  }
  interface RequestSpec {
    setupRequest?: (request: RawRequest, context: object) => RawRequest
    onResponse?: (status: number, body: string, context: object) => void
  }
  interface Options {
    url: string
    connections?: number
    duration?: number
    timeout?: number
    requests?: RequestSpec[]
    setupClient?: (client: object) => void
    overallRate?: number
    ignoreCoordinatedOmission?: boolean
  }
  interface Histogram {
    average: number
    mean: number
    p50: number
    p99: number
    total: number
  }
  interface Result {
    requests: Histogram
    latency: Histogram
    non2xx: number
    errors: number
    timeouts: number
    statusCodeStats?: Record<string, { count: number }>
  }
  /** A running load: an event emitter ('response': client, status, bytes, ms) and a promise of the result. */
  interface Instance extends Promise<Result> {
    on(
      event: 'response',
      listener: (client: unknown, status: number, bytes: number, ms: number) => void,
    ): this
    stop(): void
  }
  function autocannon(options: Options): Instance
  export default autocannon
  export type { Instance, Options, Result }
}
