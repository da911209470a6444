// A user of @headroom/health with an in-process check.
import { createHealthMonitor, formatPrometheus, type HealthMonitor, toMetricFamilies } from '@headroom/health'

async function main(): Promise<void> {
  const monitor: HealthMonitor = createHealthMonitor({ service: 'consumer', checks: { self: () => true } })
  monitor.recordRequest(12, true)
  const text = formatPrometheus(toMetricFamilies(monitor.stats()))
  if (typeof text !== 'string' || text.length === 0) throw new Error('no metrics text')
  monitor.close()
}

main().then(
  () => console.log('ok health (memory)'),
  (error: unknown) => {
    console.error(error)
    process.exit(1)
  },
)
