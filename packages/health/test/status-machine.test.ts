import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { createStatusMachine } from '../src/status/machine.js'
import { type HealthStatus, severity } from '../src/status/status.js'
import { levelOf, type ThresholdLevels } from '../src/status/thresholds.js'

const levels: ThresholdLevels = { degraded: { enter: 100, exit: 50 }, critical: { enter: 500, exit: 200 } }
const statusArb = fc.constantFrom<HealthStatus>('healthy', 'degraded', 'critical')

describe('levelOf (hysteresis of one metric)', () => {
  it('enters at enter and leaves only below exit', () => {
    expect(levelOf('healthy', 99, levels)).toBe('healthy')
    expect(levelOf('healthy', 100, levels)).toBe('degraded')
    expect(levelOf('degraded', 60, levels)).toBe('degraded')
    expect(levelOf('degraded', 49, levels)).toBe('healthy')
    expect(levelOf('degraded', 500, levels)).toBe('critical')
    expect(levelOf('critical', 250, levels)).toBe('critical')
    expect(levelOf('critical', 150, levels)).toBe('degraded')
    expect(levelOf('critical', 10, levels)).toBe('healthy')
    expect(levelOf('critical', undefined, levels)).toBe('healthy')
  })

  it('a value wandering around enter changes the level at most once', () => {
    fc.assert(
      fc.property(fc.array(fc.double({ min: 60, max: 140, noNaN: true }), { maxLength: 200 }), (values) => {
        let level: HealthStatus = 'healthy'
        let changes = 0
        for (const value of values) {
          const next = levelOf(level, value, levels)
          if (next !== level) changes++
          level = next
        }
        expect(changes).toBeLessThanOrEqual(1)
      }),
    )
  })
})

describe('status machine (dwell time)', () => {
  it('adopts a worse status at once and a better one only after exitDwellMs', () => {
    const machine = createStatusMachine({ enterDwellMs: 0, exitDwellMs: 1000 }, 0)
    expect(machine.update('critical', 100)).toBe('critical')
    expect(machine.update('healthy', 200)).toBeUndefined()
    expect(machine.update('healthy', 1100)).toBeUndefined()
    expect(machine.update('healthy', 1200)).toBe('healthy')
    expect(machine.since).toBe(1200)
  })

  it('drops only as far as the worst status seen during the wait', () => {
    const machine = createStatusMachine({ enterDwellMs: 0, exitDwellMs: 1000 }, 0)
    machine.update('critical', 0)
    machine.update('healthy', 100)
    machine.update('degraded', 500)
    expect(machine.update('healthy', 1100)).toBe('degraded')
  })

  it('a relapse restarts the wait', () => {
    const machine = createStatusMachine({ enterDwellMs: 0, exitDwellMs: 1000 }, 0)
    machine.update('degraded', 0)
    machine.update('healthy', 100)
    machine.update('degraded', 900)
    expect(machine.update('healthy', 1200)).toBeUndefined()
    expect(machine.update('healthy', 2199)).toBeUndefined()
    expect(machine.update('healthy', 2200)).toBe('healthy')
  })

  it('enterDwellMs delays escalation until the worse status held', () => {
    const machine = createStatusMachine({ enterDwellMs: 300, exitDwellMs: 0 }, 0)
    expect(machine.update('degraded', 0)).toBeUndefined()
    expect(machine.update('healthy', 100)).toBeUndefined()
    expect(machine.update('degraded', 200)).toBeUndefined()
    expect(machine.update('degraded', 499)).toBeUndefined()
    expect(machine.update('degraded', 500)).toBe('degraded')
  })

  it('property: an improvement is adopted only after every raw status in the dwell was at most as bad', () => {
    const exitDwellMs = 1000
    fc.assert(
      fc.property(
        fc.array(fc.record({ raw: statusArb, gap: fc.integer({ min: 1, max: 400 }) }), { maxLength: 300 }),
        (steps) => {
          const machine = createStatusMachine({ enterDwellMs: 0, exitDwellMs }, 0)
          const history: { at: number; raw: HealthStatus }[] = []
          let now = 0
          for (const { raw, gap } of steps) {
            now += gap
            const before = machine.status
            history.push({ at: now, raw })
            const changed = machine.update(raw, now)
            // Never under-reports: with no enter dwell the status is at least the raw status.
            expect(severity(machine.status)).toBeGreaterThanOrEqual(severity(raw))
            if (changed !== undefined && severity(changed) < severity(before)) {
              for (const entry of history) {
                if (entry.at >= now - exitDwellMs)
                  expect(severity(entry.raw)).toBeLessThanOrEqual(severity(changed))
              }
            }
          }
        },
      ),
    )
  })

  it('property: improvements are at least exitDwellMs apart from the last change', () => {
    const exitDwellMs = 500
    fc.assert(
      fc.property(
        fc.array(fc.record({ raw: statusArb, gap: fc.integer({ min: 1, max: 300 }) }), { maxLength: 300 }),
        (steps) => {
          const machine = createStatusMachine({ enterDwellMs: 0, exitDwellMs }, 0)
          let now = 0
          let lastChange = 0
          for (const { raw, gap } of steps) {
            now += gap
            const before = machine.status
            const changed = machine.update(raw, now)
            if (changed === undefined) continue
            if (severity(changed) < severity(before))
              expect(now - lastChange).toBeGreaterThanOrEqual(exitDwellMs)
            lastChange = now
          }
        },
      ),
    )
  })
})

describe('status machine: the immediate part of a raw status', () => {
  it('is adopted at once, while a worse metric keeps the dwell it already served', () => {
    const machine = createStatusMachine({ enterDwellMs: 2000, exitDwellMs: 5000 }, 0)
    expect(machine.update('critical', 0, 'healthy')).toBeUndefined()
    // An input says degraded one second later: adopted at once.
    expect(machine.update('critical', 1000, 'degraded')).toBe('degraded')
    // The critical metric has held since 0: adopted at 2000, not 3000.
    expect(machine.update('critical', 2000, 'degraded')).toBe('critical')
    // Clearing the input lets the status fall only after the exit dwell.
    expect(machine.update('healthy', 3000, 'healthy')).toBeUndefined()
    expect(machine.update('healthy', 8000, 'healthy')).toBe('healthy')
  })
})
