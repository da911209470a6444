const started = Date.now()

/** Seconds since the suite started, as the log and the final line show them. */
export function elapsedSeconds(digits: number): string {
  return ((Date.now() - started) / 1000).toFixed(digits)
}

export function log(message: string): void {
  console.log(`[faults +${elapsedSeconds(1)}s] ${message}`)
}
