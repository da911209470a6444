import type { FaultResult } from './report.js'

/** One row per fault, in run order: the fault runner adds it, the loss check amends it. */
export const results: FaultResult[] = []
