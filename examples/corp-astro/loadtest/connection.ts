/**
 * One keep-alive HTTP/1.1 connection of one simulated user, with the least response
 * parsing the load test needs (status, Retry-After, Content-Length or chunked body).
 * Written on `node:net` rather than `http.Agent` so the generator costs a few µs per
 * request and its own event loop does not become the bottleneck it is measuring.
 */
import { connect, type Socket } from 'node:net'

export interface Answer {
  status: number
  body: string
  retryAfter: string | undefined
}

export interface OutgoingRequest {
  method: string
  path: string
  headers: Record<string, string>
  body?: string
}

const HEADER_END = Buffer.from('\r\n\r\n')

export class Connection {
  private socket: Socket | undefined
  private buffer: Buffer = Buffer.alloc(0)
  private pending: ((answer: Answer) => void) | undefined
  private failed: ((error: Error) => void) | undefined
  /** performance.now() when the TCP handshake finished; undefined while not connected. */
  connectedAt: number | undefined
  /** Requests answered on this socket since it connected (0: the next one is its first). */
  answered = 0

  constructor(
    private readonly host: string,
    private readonly port: number,
  ) {}

  get open(): boolean {
    return this.connectedAt !== undefined && this.socket !== undefined && !this.socket.destroyed
  }

  /** Opens the socket; resolves with the handshake's duration (ms). */
  connect(): Promise<number> {
    const started = performance.now()
    return new Promise((resolve, reject) => {
      const socket = connect({ host: this.host, port: this.port, noDelay: true })
      this.socket = socket
      this.buffer = Buffer.alloc(0)
      this.answered = 0
      socket.once('connect', () => {
        this.connectedAt = performance.now()
        resolve(this.connectedAt - started)
      })
      // A socket given up on (destroy, then connect again) may still report: ignore it.
      const current = () => this.socket === socket
      socket.on('data', (chunk: Buffer) => {
        if (current()) this.onData(chunk)
      })
      socket.on('error', (error) => {
        reject(error)
        if (current()) this.fail(error)
      })
      socket.on('close', () => {
        if (!current()) return
        this.connectedAt = undefined
        this.fail(new Error('connection closed'))
      })
    })
  }

  /** Sends one request; resolves with its answer. One request at a time per connection. */
  send(request: OutgoingRequest): Promise<Answer> {
    const socket = this.socket
    if (!socket || !this.open) return Promise.reject(new Error('not connected'))
    if (this.pending) return Promise.reject(new Error('a request is already in flight'))
    let head = `${request.method} ${request.path} HTTP/1.1\r\nhost: ${this.host}:${this.port}\r\n`
    for (const [name, value] of Object.entries(request.headers)) head += `${name}: ${value}\r\n`
    if (request.body !== undefined) head += `content-length: ${Buffer.byteLength(request.body)}\r\n`
    head += '\r\n'
    return new Promise((resolve, reject) => {
      this.pending = resolve
      this.failed = reject
      socket.write(request.body === undefined ? head : head + request.body)
    })
  }

  /** Closes the socket at once (a client that gave up on its request). */
  destroy(): void {
    const socket = this.socket
    this.socket = undefined
    this.connectedAt = undefined
    this.pending = undefined
    this.failed = undefined
    socket?.destroy()
  }

  private fail(error: Error): void {
    const failed = this.failed
    this.pending = undefined
    this.failed = undefined
    failed?.(error)
  }

  private onData(chunk: Buffer): void {
    this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk])
    for (;;) {
      const answer = this.parse()
      if (!answer) return
      const pending = this.pending
      this.pending = undefined
      this.failed = undefined
      this.answered++
      pending?.(answer)
    }
  }

  /** One complete response off the front of the buffer, or undefined while incomplete. */
  private parse(): Answer | undefined {
    const end = this.buffer.indexOf(HEADER_END)
    if (end < 0) return undefined
    const head = this.buffer.toString('latin1', 0, end)
    const status = Number(head.slice(9, 12))
    let length = 0
    let chunked = false
    let retryAfter: string | undefined
    let close = false
    for (const line of head.split('\r\n')) {
      const colon = line.indexOf(':')
      if (colon < 0) continue
      const name = line.slice(0, colon).toLowerCase()
      if (name === 'content-length') length = Number(line.slice(colon + 1))
      else if (name === 'transfer-encoding') chunked = line.toLowerCase().includes('chunked')
      else if (name === 'retry-after') retryAfter = line.slice(colon + 1).trim()
      else if (name === 'connection') close = line.toLowerCase().includes('close')
    }
    const bodyStart = end + 4
    let body: string
    let consumed: number
    if (chunked) {
      const parts: Buffer[] = []
      let at = bodyStart
      for (;;) {
        const lineEnd = this.buffer.indexOf('\r\n', at)
        if (lineEnd < 0) return undefined
        const size = Number.parseInt(this.buffer.toString('latin1', at, lineEnd), 16)
        if (this.buffer.length < lineEnd + 2 + size + 2) return undefined
        if (size === 0) {
          consumed = lineEnd + 4
          break
        }
        parts.push(this.buffer.subarray(lineEnd + 2, lineEnd + 2 + size))
        at = lineEnd + 2 + size + 2
      }
      body = Buffer.concat(parts).toString('utf8')
    } else {
      if (this.buffer.length < bodyStart + length) return undefined
      body = this.buffer.toString('utf8', bodyStart, bodyStart + length)
      consumed = bodyStart + length
    }
    this.buffer = this.buffer.subarray(consumed)
    if (close) queueMicrotask(() => this.socket?.end())
    return { status, body, retryAfter }
  }
}
