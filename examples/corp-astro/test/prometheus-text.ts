// A strict parser of the Prometheus text exposition format (version 0.0.4), for tests:
// it throws on anything a Prometheus server would refuse or misread (a sample without a
// family, a malformed label, a duplicate series, histogram buckets that are not cumulative).

export type MetricType = 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped'

export interface Sample {
  name: string
  labels: Record<string, string>
  value: number
}

export interface MetricFamily {
  name: string
  type: MetricType
  help: string
  samples: Sample[]
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/
const TYPES = new Set<MetricType>(['counter', 'gauge', 'histogram', 'summary', 'untyped'])
const SUFFIXES: Record<MetricType, readonly string[]> = {
  counter: [''],
  gauge: [''],
  untyped: [''],
  histogram: ['_bucket', '_sum', '_count'],
  summary: ['', '_sum', '_count'],
}

export function parsePrometheusText(text: string): Map<string, MetricFamily> {
  const families = new Map<string, MetricFamily>()
  const seen = new Set<string>()
  const lines = text.split('\n')
  lines.forEach((line, index) => {
    const where = `line ${index + 1} (${JSON.stringify(line)})`
    if (line.trim() === '') return
    if (line.startsWith('#')) {
      const match = /^# (HELP|TYPE) (\S+) ?(.*)$/.exec(line)
      if (!match) return // a plain comment
      const [, keyword, name, rest] = match as unknown as [string, 'HELP' | 'TYPE', string, string]
      if (!NAME.test(name)) throw new Error(`bad metric name at ${where}`)
      const family = families.get(name) ?? { name, type: 'untyped' as MetricType, help: '', samples: [] }
      if (keyword === 'TYPE') {
        if (!TYPES.has(rest as MetricType)) throw new Error(`unknown type at ${where}`)
        if (family.samples.length > 0) throw new Error(`TYPE after samples at ${where}`)
        family.type = rest as MetricType
      } else family.help = rest
      families.set(name, family)
      return
    }
    const sample = parseSample(line, where)
    const family = familyOf(families, sample.name)
    if (!family) throw new Error(`sample without a declared family at ${where}`)
    const series = `${sample.name}${JSON.stringify(Object.entries(sample.labels).sort())}`
    if (seen.has(series)) throw new Error(`duplicate series at ${where}`)
    seen.add(series)
    family.samples.push(sample)
  })
  for (const family of families.values()) if (family.type === 'histogram') checkHistogram(family)
  return families
}

function familyOf(families: Map<string, MetricFamily>, sampleName: string): MetricFamily | undefined {
  for (const family of families.values()) {
    for (const suffix of SUFFIXES[family.type]) if (sampleName === family.name + suffix) return family
  }
  return undefined
}

function parseSample(line: string, where: string): Sample {
  const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{.*\})? (\S+)( -?\d+)?$/.exec(line)
  if (!match) throw new Error(`malformed sample at ${where}`)
  const [, name, labelText, valueText] = match as unknown as [string, string, string | undefined, string]
  return {
    name,
    labels: labelText ? parseLabels(labelText.slice(1, -1), where) : {},
    value: parseValue(valueText, where),
  }
}

function parseLabels(text: string, where: string): Record<string, string> {
  const labels: Record<string, string> = {}
  let rest = text
  while (rest.length > 0) {
    const match = /^([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"(,|$)/.exec(rest)
    if (!match) throw new Error(`malformed labels at ${where}`)
    const [whole, name, raw] = match as unknown as [string, string, string]
    if (!LABEL_NAME.test(name) || name in labels) throw new Error(`bad or repeated label ${name} at ${where}`)
    labels[name] = raw.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c))
    rest = rest.slice(whole.length)
  }
  return labels
}

function parseValue(text: string, where: string): number {
  if (text === '+Inf') return Number.POSITIVE_INFINITY
  if (text === '-Inf') return Number.NEGATIVE_INFINITY
  if (text === 'NaN') return Number.NaN
  if (!/^-?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(text)) throw new Error(`bad value at ${where}`)
  return Number(text)
}

/** Buckets cumulative per series, ending in le="+Inf" equal to _count. */
function checkHistogram(family: MetricFamily): void {
  const groups = new Map<string, { buckets: [number, number][]; count?: number }>()
  for (const sample of family.samples) {
    const { le, ...rest } = sample.labels
    const key = JSON.stringify(Object.entries(rest).sort())
    const group = groups.get(key) ?? { buckets: [] }
    groups.set(key, group)
    if (sample.name.endsWith('_bucket')) {
      if (le === undefined) throw new Error(`${family.name}: bucket without le`)
      group.buckets.push([parseValue(le, `${family.name} le`), sample.value])
    } else if (sample.name.endsWith('_count')) group.count = sample.value
  }
  for (const [key, group] of groups) {
    const sorted = group.buckets.sort((a, b) => a[0] - b[0])
    for (let i = 1; i < sorted.length; i++) {
      if (sorted[i]![1] < sorted[i - 1]![1]) throw new Error(`${family.name}${key}: buckets not cumulative`)
    }
    const last = sorted.at(-1)
    if (!last || last[0] !== Number.POSITIVE_INFINITY || last[1] !== group.count)
      throw new Error(`${family.name}${key}: +Inf bucket missing or not equal to _count`)
  }
}
