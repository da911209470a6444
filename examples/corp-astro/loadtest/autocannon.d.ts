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
  }
  interface Histogram {
    average: number
    mean: number
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
  function autocannon(options: Options): Promise<Result>
  export default autocannon
}
