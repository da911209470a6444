// A pg and generic-pool user of the adaptive pool sizer.
import { createPoolSizer } from '@headroom/pool'
import { createPool } from 'generic-pool'
import pg from 'pg'

export function size(connectionString: string) {
  const pool = new pg.Pool({ connectionString, max: 10 })
  const objects = createPool({ create: async () => ({}), destroy: async () => {} }, { max: 10 })
  return [
    createPoolSizer({ target: pool, algorithm: 'vegas', min: 2, max: 50 }),
    createPoolSizer({ target: objects, min: 1, max: 10 }),
  ]
}
