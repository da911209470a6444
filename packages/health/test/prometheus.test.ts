import { createManualClock } from '@headroom/core'
import { afterEach, describe, expect, it } from 'vitest'
import { formatPrometheus, toMetricFamilies } from '../src/exporters/prometheus.js'
import { createHealthMonitor } from '../src/monitor/monitor.js'
import type { HealthMonitor } from '../src/monitor/types.js'
import { scriptedSampler } from './helpers.js'

let monitor: HealthMonitor | undefined
afterEach(() => monitor?.close())

describe('Prometheus export', () => {
  it('exports status, process gauges, counters and summaries in base units', async () => {
    const clock = createManualClock(0)
    const sampler = scriptedSampler()
    monitor = createHealthMonitor({ clock, sampler, checks: { db: () => true } })
    await clock.advanceAsync(0)
    monitor.recordRequest(100)
    monitor.recordRequest(300, false)
    monitor.recordQuery('select', 'user "x"', 4)
    monitor.recordTiming('render', 2)
    monitor.reportInput('breaker', 'degraded')
    sampler.set({ eventLoopDelay: 12, rss: 2048 })
    clock.advance(1000)
    const text = formatPrometheus(toMetricFamilies(monitor.stats(), 'app'))
    expect(text).toContain(
      '# TYPE app_status gauge\napp_status{status="healthy"} 0\napp_status{status="degraded"} 1\n',
    )
    expect(text).toContain('app_ready 1\n')
    expect(text).toContain('app_rss_bytes 2048\n')
    expect(text).toContain('app_event_loop_delay_p99_seconds 0.012\n')
    expect(text).toContain('# TYPE app_requests_total counter\napp_requests_total 2\n')
    expect(text).toContain('app_request_errors_total 1\n')
    expect(text).toContain('app_request_dependency_failures_total 0\n')
    expect(text).toContain('app_request_duration_seconds_sum 0.4\napp_request_duration_seconds_count 2\n')
    expect(text).toContain('app_request_duration_seconds{quantile="0.99"} 0.3\n')
    expect(text).toContain('app_query_duration_seconds_count{op="select",model="user \\"x\\""} 1\n')
    expect(text).toContain('app_timing_duration_seconds_count{name="render"} 1\n')
    expect(text).toContain('app_check_up{check="db"} 1\n')
    expect(text).toContain('app_input_status{input="breaker",status="degraded"} 1\n')
    expect(text).toContain('app_memory_pressure{level="none"} 1\n')
    // Every sample line is `name{labels} number`.
    for (const line of text.trim().split('\n')) {
      if (!line.startsWith('#')) expect(line).toMatch(/^[a-z0-9_]+(\{.*\})? (-?[0-9.e+-]+|NaN|[+-]Inf)$/)
    }
  })

  it('omits process gauges before the first sample', () => {
    monitor = createHealthMonitor({ clock: createManualClock(0), sampler: scriptedSampler() })
    const names = toMetricFamilies(monitor.stats()).map((family) => family.name)
    expect(names).toContain('headroom_health_status')
    expect(names).not.toContain('headroom_health_rss_bytes')
  })
})
