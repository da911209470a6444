// The cache's hit rate by request kind over one load point: `/metrics` (every worker, summed
// by the primary) read before and after, and the difference of the per-group read counters
// (`headroom_cache_group_reads_total{group,result}`) taken, so warm-up and earlier points do
// not count.

/** The seeds' target for the cache hit rate. */
export const HIT_RATE_TARGET = 0.8

/** Which request kinds of the scenario read each key group (see CACHE_KEY_GROUPS). */
const KINDS_BY_GROUP: Record<string, string> = {
  'content:daily:': 'content-daily',
  'content:item:': 'content-by-id',
  'content-list:': 'content-list',
  'profiles:': 'profiles-list, profile-get',
  'user:': 'me (and every authenticated request)',
  'astro:': 'content-daily (generation)',
  'http:': 'content-daily, content-by-id (whole responses)',
  other: 'anything else',
}

export interface GroupReads {
  l1: number
  l2: number
  miss: number
}

/** Per-group read counters of the app's cache, from its `/metrics`; empty when it has none. */
export async function scrapeCacheReads(host: string, port: number): Promise<Map<string, GroupReads>> {
  const reads = new Map<string, GroupReads>()
  const response = await fetch(`http://${host}:${port}/metrics`)
  if (!response.ok) return reads
  const line = /^headroom_cache_group_reads_total\{([^}]*)\} (\S+)$/
  for (const text of (await response.text()).split('\n')) {
    const match = line.exec(text)
    if (!match) continue
    const labels = Object.fromEntries(
      [...match[1]!.matchAll(/(\w+)="([^"]*)"/g)].map(([, key, value]) => [key!, value!]),
    )
    const group = labels.group!
    const counts = reads.get(group) ?? { l1: 0, l2: 0, miss: 0 }
    const value = Number(match[2])
    if (labels.result === 'l1_hit') counts.l1 += value
    else if (labels.result === 'l2_hit') counts.l2 += value
    else if (labels.result === 'miss') counts.miss += value
    reads.set(group, counts)
  }
  return reads
}

/** `after - before`, group by group. */
export function readsBetween(
  before: Map<string, GroupReads>,
  after: Map<string, GroupReads>,
): Map<string, GroupReads> {
  const out = new Map<string, GroupReads>()
  for (const [group, a] of after) {
    const b = before.get(group) ?? { l1: 0, l2: 0, miss: 0 }
    out.set(group, { l1: a.l1 - b.l1, l2: a.l2 - b.l2, miss: a.miss - b.miss })
  }
  return out
}

const pct = (n: number) => `${(100 * n).toFixed(1)} %`

/** One line for the console: the hit rate of each group read during the point. */
export function hitRateLine(reads: Map<string, GroupReads>): string {
  return [...reads]
    .filter(([, r]) => r.l1 + r.l2 + r.miss > 0)
    .map(([group, r]) => `${group} ${pct((r.l1 + r.l2) / (r.l1 + r.l2 + r.miss))}`)
    .join(', ')
}

/** The markdown table of one point's hit rates against the target. */
export function hitRateTable(reads: Map<string, GroupReads>): string[] {
  const rows = [...reads].filter(([, r]) => r.l1 + r.l2 + r.miss > 0)
  let hits = 0
  let total = 0
  const lines = rows.map(([group, r]) => {
    const all = r.l1 + r.l2 + r.miss
    hits += r.l1 + r.l2
    total += all
    const rate = (r.l1 + r.l2) / all
    return `| ${group} | ${KINDS_BY_GROUP[group] ?? ''} | ${all} | ${pct(r.l1 / all)} | ${pct(r.l2 / all)} | ${pct(rate)} | ${rate >= HIT_RATE_TARGET ? 'MET' : 'MISSED'} |`
  })
  return [
    `| Key group | Request kinds | Reads | L1 hits | L2 hits | Hit rate | > ${HIT_RATE_TARGET * 100} % |`,
    '| --- | --- | ---: | ---: | ---: | ---: | --- |',
    ...lines,
    total > 0
      ? `| all | | ${total} | | | ${pct(hits / total)} | ${hits / total >= HIT_RATE_TARGET ? 'MET' : 'MISSED'} |`
      : '| (no cache reads) | | | | | | |',
  ]
}
