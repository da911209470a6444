// A job's static part as the stores keep it: compact JSON ({n,m,t,d,p}, plus r and s for a
// job scheduler's job), written once by `add` and read by Lua scripts (which cut the name
// out of it). Code outside this file reads the named fields of `JobSpec`.

/** The stored JSON: one-letter keys, since every job carries them through Redis. */
interface JobPayload {
  /** Handler name. */
  n: string
  /** The job's data. */
  d: unknown
  /** Maximum attempts. */
  m: number
  /** Per-attempt timeout in ms (0: none). */
  t: number
  /** Priority (0 first .. 1000 last). */
  p: number
  /** Job schedulers' jobs only: the id of the scheduler that added it. */
  r?: string
  /** Job schedulers' jobs only: the scheduler's spec (see repeat.ts), to schedule the next slot. */
  s?: string
}

/** A job's static part with named fields, decoded from its payload. */
export interface JobSpec {
  name: string
  data: unknown
  maxAttempts: number
  /** Per-attempt timeout in ms (0: none). */
  timeoutMs: number
  priority: number
  /** The job scheduler that added it, if any. */
  schedulerId: string | undefined
  /** That scheduler's spec (JSON), to schedule its next slot. */
  schedulerSpec: string | undefined
}

/** The fields `encodePayload` writes; the data as JSON already checked by `serializeData`. */
export interface NewPayload {
  name: string
  dataJson: string
  maxAttempts: number
  timeoutMs: number
  priority: number
}

/** Encodes a job's payload with its data JSON embedded as is: a worker decodes it with one `JSON.parse`. */
export function encodePayload(job: NewPayload): string {
  return `{"n":${JSON.stringify(job.name)},"m":${job.maxAttempts},"t":${job.timeoutMs},"p":${job.priority},"d":${job.dataJson}}`
}

/** A payload with a job scheduler's id and spec appended (the job's own fields unchanged). */
export function withScheduler(payload: string, schedulerId: string, schedulerSpec: string): string {
  return `${payload.slice(0, -1)},"r":${JSON.stringify(schedulerId)},"s":${JSON.stringify(schedulerSpec)}}`
}

/** Decodes a stored payload; throws on malformed JSON. */
export function decodePayload(payload: string): JobSpec {
  const raw = JSON.parse(payload) as JobPayload
  return {
    name: raw.n,
    data: raw.d,
    maxAttempts: raw.m,
    timeoutMs: raw.t,
    priority: raw.p,
    schedulerId: raw.r,
    schedulerSpec: raw.s,
  }
}
