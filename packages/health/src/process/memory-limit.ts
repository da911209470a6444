import { readFileSync } from 'node:fs'
import { totalmem } from 'node:os'
import { parseOptions, tiedTo } from '@headroom/core'
import { z } from 'zod'
import { createRssReader } from './rss-reader.js'

/** Where the memory limit came from. */
export type MemoryLimitSource = 'configured' | 'cgroup' | 'host'

/** The memory the process may use: what its RSS is measured against. */
export interface MemoryLimit {
  bytes: number
  source: MemoryLimitSource
}

/** cgroup v1 reports "no limit" as a number near 2^63 rounded to the page size. */
const CGROUP_V1_UNLIMITED = 2 ** 60

/** The cgroup's memory limit (v2 `memory.max`, else v1 `memory.limit_in_bytes`), or undefined. */
export function readCgroupMemoryLimit(root = '/sys/fs/cgroup'): number | undefined {
  const read = (path: string): string | undefined => {
    try {
      return readFileSync(path, 'utf8').trim()
    } catch {
      return undefined
    }
  }
  const v2 = read(`${root}/memory.max`)
  if (v2 !== undefined) {
    const bytes = Number(v2)
    // "max": no limit on this cgroup.
    return v2 !== 'max' && Number.isSafeInteger(bytes) && bytes > 0 ? bytes : undefined
  }
  const v1 = Number(read(`${root}/memory/memory.limit_in_bytes`))
  return Number.isFinite(v1) && v1 > 0 && v1 < CGROUP_V1_UNLIMITED ? v1 : undefined
}

/**
 * The limit RSS is measured against: the smaller of the container's (cgroup) limit and
 * `configured`, whichever are present (the kernel kills at the container's limit, so a
 * larger configured value cannot raise it), else the machine's total memory.
 * Read once: a container's limit does not change while the process runs.
 */
export function resolveMemoryLimit(configured?: number, cgroupRoot?: string): MemoryLimit {
  const cgroup = readCgroupMemoryLimit(cgroupRoot)
  if (configured !== undefined && (cgroup === undefined || configured <= cgroup)) {
    return { bytes: configured, source: 'configured' }
  }
  if (cgroup !== undefined) return { bytes: cgroup, source: 'cgroup' }
  return { bytes: totalmem(), source: 'host' }
}

/** Options of {@link createMemoryGauge}. */
export interface MemoryGaugeOptions {
  /** The process' memory budget, bytes; the container's limit caps it. @default the cgroup limit, else total memory */
  memoryLimitBytes?: number
}

const gaugeSchema = tiedTo<MemoryGaugeOptions>()(
  z.strictObject({ memoryLimitBytes: z.number().int().positive().optional() }),
)

/** RSS against the memory limit, read on demand. */
export interface MemoryGauge {
  /** RSS / limit now (above 1 past the limit). */
  ratio(): number
  readonly limit: MemoryLimit
  close(): void
}

/**
 * Reads RSS against the memory limit (the same reading the monitor's `memoryPressure`
 * uses), e.g. as the cache's memory-pressure signal.
 *
 * @example
 * import { createMemoryGauge } from '@headroom/health'
 *
 * const memory = createMemoryGauge()
 * const cache = createCache({ prefix: 'app', memoryPressure: { signal: () => memory.ratio() } })
 */
export function createMemoryGauge(options: MemoryGaugeOptions = {}): MemoryGauge {
  const { memoryLimitBytes } = parseOptions('createMemoryGauge', gaugeSchema, options)
  const limit = resolveMemoryLimit(memoryLimitBytes)
  const rss = createRssReader()
  return {
    ratio: () => rss.read() / limit.bytes,
    limit,
    close: () => rss.close(),
  }
}
