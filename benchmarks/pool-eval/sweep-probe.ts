import pg from 'pg'
import { closedLoop, createEvalDatabase, type WorkloadShape } from './workload.js'

const shape: WorkloadShape = JSON.parse(process.argv[2] ?? '{"hotRows":12,"parallelS":0.004,"lockedS":0.001}')
const sizes = (process.argv[3] ?? '1,2,4,8,16,32').split(',').map(Number)
const db = await createEvalDatabase(shape)
try {
  for (const max of sizes) {
    const pool = new pg.Pool({ connectionString: db.url, max })
    await closedLoop((sql) => pool.query(sql), { workers: 48, durationMs: 1000, shape })
    const r = await closedLoop((sql) => pool.query(sql), { workers: 48, durationMs: 3000, shape })
    console.log(
      max,
      Math.round((r.ops / r.ms) * 1000),
      'ops/s p50',
      r.latency.p50.toFixed(1),
      'p99',
      r.latency.p99.toFixed(1),
      'err',
      r.errors,
    )
    await pool.end()
  }
} finally {
  await db.close()
}
