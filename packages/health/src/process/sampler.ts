import { performance } from 'node:perf_hooks'
import { getHeapStatistics } from 'node:v8'
import { parseOptions, tiedTo } from '@headroom/core'
import { z } from 'zod'
import { createEventLoopProbe } from './event-loop-probe.js'
import { createRssReader } from './rss-reader.js'

/** What one sample reads from the process. */
export interface ProcessReadings {
  /** CPU time used since the previous reading, as a fraction of one core (can exceed 1 with worker threads). */
  cpu: number
  /** Resident set size, bytes. */
  rss: number
  /** V8 heap in use, bytes. */
  heapUsed: number
  /** V8 heap reserved, bytes. */
  heapTotal: number
  /** V8's heap size limit, bytes (`--max-old-space-size`). */
  heapLimit: number
  /** `heapUsed / heapLimit`: how close the heap is to an out-of-memory crash. */
  heapUsedRatio: number
  /** Event-loop delay p99 since the previous reading, ms. */
  eventLoopDelay: number
  /** Largest event-loop delay since the previous reading, ms. */
  eventLoopDelayMax: number
  /** Share of wall time the loop was busy since the previous reading (0..1). */
  eventLoopUtilization: number
}

/** Reads the process; the monitor calls `read()` once per sample. */
export interface Sampler {
  read(): ProcessReadings
  close(): void
}

/** Options of {@link createProcessSampler}. */
export interface ProcessSamplerOptions {
  /** Period of the event-loop drift probe, ms. @default 20 */
  eventLoopResolutionMs?: number
  /** Called on every probe tick (the monitor refreshes its coarse request timestamp there). @default none */
  onTick?: () => void
}

/** The probe period, ms; the monitor's `eventLoopResolutionMs` is this same field. */
export const eventLoopResolutionSchema = z.number().int().min(1).max(1000).default(20)

const schema = tiedTo<ProcessSamplerOptions>()(
  z.strictObject({
    eventLoopResolutionMs: eventLoopResolutionSchema,
    onTick: z.custom<() => void>((v) => typeof v === 'function', 'Expected a function').optional(),
  }),
)

/**
 * The default {@link Sampler}: CPU from `process.cpuUsage()` deltas, RSS from
 * `/proc/self/statm` (or `process.memoryUsage.rss()` off Linux), the heap from `v8.getHeapStatistics()`, event-loop
 * delay from a drift probe and utilization from `performance.eventLoopUtilization()`
 * deltas. One read costs a few microseconds; most of it is the RSS read.
 *
 * @example
 * const sampler = createProcessSampler()
 * sampler.read().eventLoopDelay
 * sampler.close()
 */
export function createProcessSampler(options: ProcessSamplerOptions = {}): Sampler {
  const { eventLoopResolutionMs, onTick } = parseOptions('createProcessSampler', schema, options)
  const probe = createEventLoopProbe(eventLoopResolutionMs, onTick)
  const rss = createRssReader()
  let lastCpu = process.cpuUsage()
  let lastWall = performance.now()
  let lastElu = performance.eventLoopUtilization()

  return {
    read() {
      const wall = performance.now()
      const cpu = process.cpuUsage()
      const elapsedMicros = (wall - lastWall) * 1000
      const usedMicros = cpu.user - lastCpu.user + (cpu.system - lastCpu.system)
      lastCpu = cpu
      lastWall = wall
      const elu = performance.eventLoopUtilization()
      const utilization = performance.eventLoopUtilization(elu, lastElu).utilization
      lastElu = elu
      const heap = getHeapStatistics()
      const delay = probe.take()
      return {
        cpu: elapsedMicros > 0 ? usedMicros / elapsedMicros : 0,
        rss: rss.read(),
        heapUsed: heap.used_heap_size,
        heapTotal: heap.total_heap_size,
        heapLimit: heap.heap_size_limit,
        heapUsedRatio: heap.heap_size_limit > 0 ? heap.used_heap_size / heap.heap_size_limit : 0,
        eventLoopDelay: delay.p99,
        eventLoopDelayMax: delay.max,
        eventLoopUtilization: Number.isFinite(utilization) ? utilization : 0,
      }
    },
    close() {
      probe.close()
      rss.close()
    },
  }
}
