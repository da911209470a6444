// Hands each status change to every alert sink, and closes them, so that one sink
// that throws (despite the contract) neither stops the others nor the monitor.
import type { Logger } from '@headroom/core'
import type { AlertSink, StatusChange } from '../status/change.js'

export interface AlertFanout {
  send(change: StatusChange): void
  close(): void
}

export function createAlertFanout(sinks: readonly AlertSink[], logger: Logger): AlertFanout {
  return {
    send(change) {
      for (const sink of sinks) {
        try {
          sink.send(change)
        } catch (error) {
          logger.error({ err: error }, 'health alert sink threw')
        }
      }
    },
    close() {
      for (const sink of sinks) {
        try {
          sink.close()
        } catch (error) {
          logger.error({ err: error }, 'health alert sink close threw')
        }
      }
    },
  }
}
