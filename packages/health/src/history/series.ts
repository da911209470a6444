/** One recorded value. */
export interface MetricPoint {
  /** Milliseconds since the epoch (the monitor's clock). */
  timestamp: number
  value: number
  /** For request points: whether the request succeeded. */
  ok?: boolean
  /** Labels given when the value was recorded (the same object, never copied). */
  labels?: Readonly<Record<string, string>>
}

/**
 * Selects points: an object matches labels (and `ok` for requests) by equality;
 * a function sees each point.
 */
export type MetricFilter =
  | Readonly<Record<string, string | number | boolean>>
  | ((point: MetricPoint) => boolean)

/**
 * A fixed-capacity ring of points kept in typed arrays: recording overwrites the
 * oldest point and allocates nothing, so history is bounded whatever the traffic.
 */
export interface Series {
  readonly capacity: number
  /** Points currently held (at most `capacity`). */
  readonly size: number
  push(timestamp: number, value: number, ok?: boolean, labels?: Readonly<Record<string, string>>): void
  /** Visits the points with `from <= timestamp < to`, oldest first. */
  forEach(from: number, to: number, visit: (point: MetricPoint) => void, filter?: MetricFilter): void
  clear(): void
}

/** Throws unless `ms` is a finite duration >= 0, naming the method that received it. */
export function assertDuration(method: string, ms: number): void {
  if (!(ms >= 0) || ms === Number.POSITIVE_INFINITY)
    throw new TypeError(`${method}: durationMs must be a finite number >= 0 (received ${String(ms)})`)
}

const OK_UNSET = 0
const OK_TRUE = 1
const OK_FALSE = 2

export function createSeries(capacity: number): Series {
  const times = new Float64Array(capacity)
  const values = new Float64Array(capacity)
  const oks = new Uint8Array(capacity)
  // Labels are rare (a plain array stays holey-free only when filled): created lazily.
  let labels: (Readonly<Record<string, string>> | undefined)[] | undefined
  let next = 0
  let size = 0

  const matches = (point: MetricPoint, filter: MetricFilter | undefined): boolean => {
    if (filter === undefined) return true
    if (typeof filter === 'function') return filter(point)
    for (const key in filter) {
      const wanted = filter[key]
      const actual = key === 'ok' && point.ok !== undefined ? point.ok : point.labels?.[key]
      if (actual !== wanted && String(actual) !== String(wanted)) return false
    }
    return true
  }

  return {
    capacity,
    get size() {
      return size
    },
    push(timestamp, value, ok, pointLabels) {
      times[next] = timestamp
      values[next] = value
      oks[next] = ok === undefined ? OK_UNSET : ok ? OK_TRUE : OK_FALSE
      if (pointLabels !== undefined) {
        labels ??= new Array(capacity).fill(undefined)
        labels[next] = pointLabels
      } else if (labels !== undefined) {
        labels[next] = undefined
      }
      next = next + 1 === capacity ? 0 : next + 1
      if (size < capacity) size++
    },
    forEach(from, to, visit, filter) {
      const start = size < capacity ? 0 : next
      for (let i = 0; i < size; i++) {
        const index = (start + i) % capacity
        const timestamp = times[index]!
        if (timestamp < from || timestamp >= to) continue
        const point: MetricPoint = { timestamp, value: values[index]! }
        const ok = oks[index]!
        if (ok !== OK_UNSET) point.ok = ok === OK_TRUE
        const pointLabels = labels?.[index]
        if (pointLabels !== undefined) point.labels = pointLabels
        if (matches(point, filter)) visit(point)
      }
    },
    clear() {
      next = 0
      size = 0
      labels = undefined
    },
  }
}
