// The marks a request or response carries from one middleware of a chain to another:
// refused by `shedLoad`, refused because a dependency is unavailable, its timing record.
// Keys from Symbol.for: the ESM and the CJS copy of this package, both loaded in one
// process, read each other's marks.
import type { TimingRecord } from './request-timing.js'

const SHED: unique symbol = Symbol.for('headroom.health.shed')
const DEPENDENCY_FAILURE: unique symbol = Symbol.for('headroom.health.dependencyFailure')
const TIMING: unique symbol = Symbol.for('headroom.health.timing')

interface Marks {
  [SHED]?: boolean
  [DEPENDENCY_FAILURE]?: boolean
  [TIMING]?: TimingRecord
}

/** Marks a response (or fetch Request) refused by `shedLoad`: request tracking leaves it out. */
export function markShed(target: object): void {
  ;(target as Marks)[SHED] = true
}

export function isShed(target: object): boolean {
  return (target as Marks)[SHED] === true
}

/** Marks a response (or fetch Request) refused because a dependency is unavailable. */
export function markDependency(target: object): void {
  ;(target as Marks)[DEPENDENCY_FAILURE] = true
}

export function isDependencyFailure(target: object): boolean {
  return (target as Marks)[DEPENDENCY_FAILURE] === true
}

/** Keeps a response's timing record (trackRequests with `timing`). */
export function setTiming(target: object, record: TimingRecord): void {
  ;(target as Marks)[TIMING] = record
}

export function timingOf(target: object): TimingRecord | undefined {
  return (target as Marks)[TIMING]
}
