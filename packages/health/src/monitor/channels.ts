// The package's diagnostics_channel channels (`headroom:health:<event>`), created once
// per process and shared by every monitor, so tracers subscribe without a reference to one.
import { createChannels } from '@headroom/core'
import type { MemoryPressureEvent } from '../process/memory-pressure.js'
import type { StatusChange } from '../status/change.js'
import type { CheckResult } from './checks.js'
import type { HealthSample } from './types.js'

export const channels = createChannels<{
  change: StatusChange
  alert: StatusChange
  sample: HealthSample
  check: CheckResult
  memoryPressure: MemoryPressureEvent
}>('health', ['change', 'alert', 'sample', 'check', 'memoryPressure'])
