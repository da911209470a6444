import { execFileSync } from 'node:child_process'

/**
 * The worker processes of a node:cluster primary: its children whose command line ends
 * with `script`. Children are told apart by command line because a primary has others
 * too (tsx starts esbuild service processes, as many as it happened to need).
 */
export function clusterWorkerPids(primary: number, script = 'src/main.ts'): number[] {
  let out: string
  try {
    out = execFileSync('ps', ['-o', 'pid=,args=', '--ppid', String(primary)], { encoding: 'utf8' })
  } catch (error) {
    // ps exits 1 when the primary has no child at all (between a death and the restart).
    if ((error as { status?: number }).status === 1) return []
    throw error
  }
  return out
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line.endsWith(script))
    .map((line) => Number.parseInt(line, 10))
}
