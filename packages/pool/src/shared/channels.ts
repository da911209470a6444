import { createChannels } from '@headroom/core'
import type { RejectReason } from './errors.js'

/** The package's diagnostics channels: `headroom:pool:limit`, `headroom:pool:reject`, `headroom:pool:resize`. */
export const poolChannels = createChannels<{
  limit: { name: string; old: number; new: number; reason: string }
  reject: { name: string; partition: string; reason: RejectReason }
  resize: { name: string; old: number; new: number; reason: string }
}>('pool', ['limit', 'reject', 'resize'])
