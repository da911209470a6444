// A real Postgres backend with a hidden capacity, for the limiter's overload tests and the
// pool evaluation: `work(service)` holds one of `capacity` advisory-lock slots for
// `pg_sleep(service)`. Callers past the capacity queue in Postgres on a turnstile lock
// (FIFO, no CPU while waiting) whose holder polls for a free slot. So latency is flat up
// to the capacity and grows with the queue beyond it, and the capacity can be changed
// while the load runs (`setCapacity`), as when a database loses or gains headroom.
import { createTestDatabase, type TestDatabase } from '@headroom/testing'
import pg from 'pg'

/** Advisory lock class of the slots: (CLASS, 0) is the turnstile, (CLASS, i) slot i. */
const CLASS = 7301

export interface HiddenCapacity {
  db: TestDatabase
  url: string
  setCapacity(slots: number): Promise<void>
  close(): Promise<void>
}

export async function createHiddenCapacity(capacity: number): Promise<HiddenCapacity> {
  const db = await createTestDatabase('hidden_capacity')
  const admin = new pg.Client({ connectionString: db.url })
  await admin.connect()
  await admin.query('CREATE TABLE capacity (slots int NOT NULL)')
  await admin.query('INSERT INTO capacity VALUES ($1)', [capacity])
  await admin.query(`
    CREATE FUNCTION work(service_s float8) RETURNS int LANGUAGE plpgsql AS $$
    DECLARE
      got int;
      slots int;
    BEGIN
      PERFORM pg_advisory_lock(${CLASS}, 0);
      LOOP
        SELECT capacity.slots INTO slots FROM capacity;
        FOR i IN 1..slots LOOP
          IF pg_try_advisory_lock(${CLASS}, i) THEN
            got := i;
            EXIT;
          END IF;
        END LOOP;
        EXIT WHEN got IS NOT NULL;
        PERFORM pg_sleep(0.001);
      END LOOP;
      PERFORM pg_advisory_unlock(${CLASS}, 0);
      PERFORM pg_sleep(service_s);
      PERFORM pg_advisory_unlock(${CLASS}, got);
      RETURN got;
    END $$`)
  return {
    db,
    url: db.url,
    async setCapacity(slots) {
      await admin.query('UPDATE capacity SET slots = $1', [slots])
    },
    async close() {
      await admin.end()
      await db.drop()
    },
  }
}

/** One call's service time, seconds: lognormal around `meanMs` with coefficient of variation `noise`. */
export function serviceSeconds(meanMs: number, noise: number, random = Math.random): number {
  const sigma = Math.sqrt(Math.log(1 + noise ** 2))
  const z = Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random())
  return (meanMs * Math.exp(sigma * z - (sigma * sigma) / 2)) / 1000
}

export interface OpenLoopResult {
  /** Latency (arrival to completion) of each completed call, with its arrival time (ms since start). */
  calls: { t: number; latency: number }[]
  shed: number
  errors: number
  /** Samples of `watch()` every `sampleEveryMs`. */
  samples: { t: number; value: number }[]
}

/**
 * An open loop on the real clock: `ratePerSec` arrivals (evenly spaced) for `durationMs`,
 * each running `call()`; refusals counted by `isShed`. Waits (bounded) for the stragglers.
 */
export async function openLoop(options: {
  ratePerSec: number
  durationMs: number
  call: () => Promise<unknown>
  isShed: (error: unknown) => boolean
  watch?: () => number
  sampleEveryMs?: number
  onSecond?: (second: number) => void
}): Promise<OpenLoopResult> {
  const result: OpenLoopResult = { calls: [], shed: 0, errors: 0, samples: [] }
  const start = performance.now()
  const pending = new Set<Promise<void>>()
  let issued = 0
  let nextSample = 0
  let nextSecond = 1000
  await new Promise<void>((resolve) => {
    const timer = setInterval(() => {
      const elapsed = performance.now() - start
      if (options.watch && elapsed >= nextSample) {
        result.samples.push({ t: elapsed, value: options.watch() })
        nextSample += options.sampleEveryMs ?? 100
      }
      if (elapsed >= nextSecond) {
        options.onSecond?.(nextSecond / 1000)
        nextSecond += 1000
      }
      const due = Math.min(options.durationMs, elapsed) * (options.ratePerSec / 1000)
      while (issued < due) {
        const arrival = start + issued * (1000 / options.ratePerSec)
        issued++
        const job = options.call().then(
          () => {
            result.calls.push({ t: arrival - start, latency: performance.now() - arrival })
          },
          (error: unknown) => {
            if (options.isShed(error)) result.shed++
            else result.errors++
          },
        )
        const tracked: Promise<void> = job.finally(() => pending.delete(tracked))
        pending.add(tracked)
      }
      if (elapsed >= options.durationMs) {
        clearInterval(timer)
        resolve()
      }
    }, 1)
  })
  await Promise.race([Promise.all(pending), new Promise((resolve) => setTimeout(resolve, 30_000))])
  return result
}
