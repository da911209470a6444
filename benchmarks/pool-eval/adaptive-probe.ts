import { createPoolSizer } from '@headroom/pool'
import pg from 'pg'
import { runStatic, WORKERS } from './scenarios.js'
import { closedLoop, createEvalDatabase } from './workload.js'

const algorithm = JSON.parse(process.argv[2] ?? '"vegas"')
const intervalMs = Number(process.argv[4] ?? 250)
const initial = Number(process.argv[3] ?? 1)
const db = await createEvalDatabase()
try {
  if (process.argv[5]) console.log('static', await runStatic(db.url, Number(process.argv[5]), 3000))
  const pool = new pg.Pool({ connectionString: db.url, max: initial })
  pool.on('error', () => {})
  const sizer = createPoolSizer({
    target: pool,
    algorithm,
    min: 1,
    max: 40,
    initial,
    instances: 2,
    intervalMs,
  })
  const start = performance.now()
  const lines: string[] = []
  sizer.on('window', (w) =>
    lines.push(
      `${((performance.now() - start) / 1000).toFixed(2)} rtt=${w.rtt.toFixed(1)} inf=${w.inflight} n=${w.samples} size=${w.size} est=${sizer.stats().estimate.toFixed(1)}`,
    ),
  )
  const r = await closedLoop((sql) => pool.query(sql), { workers: WORKERS, durationMs: 15000 })
  sizer.close()
  await pool.end()
  console.log(lines.join('\n'))
  console.log(
    r.timeline.map((p) => `${p.t}:${p.ops}`).join(' '),
    'last8',
    r.timeline.slice(-8).reduce((a, p) => a + p.ops, 0) / 8,
  )
} finally {
  await new Promise((r) => setTimeout(r, 200))
  await db.close()
}
