import { describe, expect, it } from 'vitest'
import { createFailureGate, type FailureGateState } from '../src/failure-gate.js'
import { createManualClock } from '../src/time/manual-clock.js'

describe('createFailureGate', () => {
  it('opens after consecutive failures, probes once after the cooldown, closes on success', () => {
    const clock = createManualClock()
    const changes: FailureGateState[] = []
    const gate = createFailureGate({
      failureThreshold: 3,
      cooldownMs: 100,
      clock,
      onStateChange: (s) => changes.push(s),
    })
    gate.failure()
    gate.failure()
    expect(gate.allow()).toBe(true)
    gate.failure()
    expect(gate.state).toBe('open')
    expect(gate.allow()).toBe(false)
    clock.advance(100)
    expect(gate.allow()).toBe(true) // the probe
    expect(gate.state).toBe('probing')
    expect(gate.allow()).toBe(false) // only one probe at a time
    gate.success()
    expect(gate.state).toBe('closed')
    expect(changes).toEqual(['open', 'probing', 'closed'])
  })

  it('a success resets the failure count', () => {
    const gate = createFailureGate({ failureThreshold: 2, clock: createManualClock() })
    gate.failure()
    gate.success()
    gate.failure()
    expect(gate.state).toBe('closed')
  })

  it('doubles the cooldown after each failed probe, up to the maximum', () => {
    const clock = createManualClock()
    const gate = createFailureGate({ failureThreshold: 1, cooldownMs: 100, maxCooldownMs: 300, clock })
    gate.failure()
    const waits: number[] = []
    for (let i = 0; i < 4; i++) {
      let waited = 0
      while (!gate.allow()) {
        clock.advance(10)
        waited += 10
      }
      waits.push(waited)
      gate.failure()
    }
    expect(waits).toEqual([100, 200, 300, 300])
  })
})

describe('createFailureGate canProbe', () => {
  it('stays open without spending its probe until canProbe says yes', () => {
    const clock = createManualClock()
    let ready = false
    const gate = createFailureGate({ failureThreshold: 1, cooldownMs: 100, clock, canProbe: () => ready })
    gate.failure()
    clock.advance(500)
    expect(gate.allow()).toBe(false)
    expect(gate.state).toBe('open')
    ready = true
    expect(gate.allow()).toBe(true)
    expect(gate.state).toBe('probing')
  })
})
