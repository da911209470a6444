// Preloaded into the app's processes by `loadtest/profile.ts` (node --import): every second,
// each cluster worker appends its event-loop delay (monitorEventLoopDelay, 10 ms
// resolution) and the GC time of that second to $LOADTEST_ELD_DIR/eld-<pid>.jsonl.
import { appendFileSync } from 'node:fs'
import { monitorEventLoopDelay, PerformanceObserver } from 'node:perf_hooks'

const dir = process.env.LOADTEST_ELD_DIR
if (dir && process.env.CORP_ASTRO_WORKER) {
  const histogram = monitorEventLoopDelay({ resolution: 10 })
  histogram.enable()
  let gcMs = 0
  let gcMax = 0
  new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      gcMs += entry.duration
      if (entry.duration > gcMax) gcMax = entry.duration
    }
  }).observe({ entryTypes: ['gc'] })
  const cpu = { last: process.cpuUsage() }
  const file = `${dir}/eld-${process.pid}.jsonl`
  setInterval(() => {
    const used = process.cpuUsage(cpu.last)
    cpu.last = process.cpuUsage()
    const ms = (ns) => Math.round(ns / 1e4) / 100
    appendFileSync(
      file,
      `${JSON.stringify({
        t: Date.now(),
        p50: ms(histogram.percentile(50)),
        p99: ms(histogram.percentile(99)),
        max: ms(histogram.max),
        gcMs: Math.round(gcMs * 10) / 10,
        gcMaxMs: Math.round(gcMax * 10) / 10,
        cpuMs: Math.round((used.user + used.system) / 1000),
      })}\n`,
    )
    histogram.reset()
    gcMs = 0
    gcMax = 0
  }, 1000).unref()
}
