// The package's diagnostics_channel channels (`headroom:health:<event>`), created once
// per process and shared by every monitor, so tracers subscribe without a reference to one.
import { createChannels } from '@headroom/core'
import type { StatusChange } from './alerts.js'
import type { CheckResult } from './checks.js'
import type { MemoryPressureEvent } from './memory-pressure.js'
import type { HealthSample } from './monitor-types.js'

export const channels = createChannels<{
  change: StatusChange
  alert: StatusChange
  sample: HealthSample
  check: CheckResult
  memoryPressure: MemoryPressureEvent
}>('health', ['change', 'alert', 'sample', 'check', 'memoryPressure'])
