/** A dependency-free line chart as SVG for the README's load curve (linear or log y axis). */
export interface Series {
  label: string
  color: string
  points: { x: number; y: number }[]
  dashed?: boolean
}

export interface Chart {
  title: string
  xLabel: string
  yLabel: string
  xMax: number
  yMax: number
  /** Log scale from yMin (> 0) to yMax. */
  logY?: { yMin: number }
  series: Series[]
  /** Vertical marks, e.g. the seed's load and the capacity. */
  marks?: { x: number; label: string }[]
  /** A horizontal line, e.g. a target. */
  rule?: { y: number; label: string }
}

const W = 760
const H = 380
const M = { left: 64, right: 20, top: 40, bottom: 48 }

export function lineChart(chart: Chart): string {
  const pw = W - M.left - M.right
  const ph = H - M.top - M.bottom
  const x = (v: number) => M.left + (Math.min(v, chart.xMax) / chart.xMax) * pw
  const log = chart.logY
  const y = (v: number) => {
    const f = log
      ? (Math.log10(Math.max(v, log.yMin)) - Math.log10(log.yMin)) /
        (Math.log10(chart.yMax) - Math.log10(log.yMin))
      : Math.min(v, chart.yMax) / chart.yMax
    return M.top + ph - Math.min(1, f) * ph
  }
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12" role="img" aria-label="${escapeXml(chart.title)}">`,
    `<title>${escapeXml(chart.title)}</title>`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${W / 2}" y="22" text-anchor="middle" font-size="14" font-weight="bold">${escapeXml(chart.title)}</text>`,
  ]
  const xStep = niceStep(chart.xMax)
  for (let v = 0; v <= chart.xMax + 1e-9; v += xStep)
    out.push(
      `<line x1="${x(v)}" y1="${M.top}" x2="${x(v)}" y2="${M.top + ph}" stroke="#eee"/>`,
      `<text x="${x(v)}" y="${M.top + ph + 16}" text-anchor="middle">${round(v)}</text>`,
    )
  const yTicks: number[] = []
  if (log) for (let v = log.yMin; v <= chart.yMax * 1.001; v *= 10) yTicks.push(v)
  else for (let v = 0; v <= chart.yMax + 1e-9; v += niceStep(chart.yMax)) yTicks.push(v)
  for (const v of yTicks)
    out.push(
      `<line x1="${M.left}" y1="${y(v)}" x2="${M.left + pw}" y2="${y(v)}" stroke="#eee"/>`,
      `<text x="${M.left - 6}" y="${y(v) + 4}" text-anchor="end">${round(v)}</text>`,
    )
  for (const mark of chart.marks ?? [])
    out.push(
      `<line x1="${x(mark.x)}" y1="${M.top}" x2="${x(mark.x)}" y2="${M.top + ph}" stroke="#888" stroke-dasharray="3 3"/>`,
      `<text x="${x(mark.x) + 4}" y="${M.top + ph - 6}" fill="#555">${escapeXml(mark.label)}</text>`,
    )
  if (chart.rule)
    out.push(
      `<line x1="${M.left}" y1="${y(chart.rule.y)}" x2="${M.left + pw}" y2="${y(chart.rule.y)}" stroke="#d62728" stroke-dasharray="2 4"/>`,
      `<text x="${M.left + pw - 4}" y="${y(chart.rule.y) - 4}" text-anchor="end" fill="#d62728">${escapeXml(chart.rule.label)}</text>`,
    )
  out.push(
    `<rect x="${M.left}" y="${M.top}" width="${pw}" height="${ph}" fill="none" stroke="#999"/>`,
    `<text x="${M.left + pw / 2}" y="${H - 10}" text-anchor="middle">${escapeXml(chart.xLabel)}</text>`,
    `<text transform="translate(16 ${M.top + ph / 2}) rotate(-90)" text-anchor="middle">${escapeXml(chart.yLabel)}</text>`,
  )
  chart.series.forEach((series, i) => {
    const dash = series.dashed ? ' stroke-dasharray="6 4"' : ''
    const d = series.points
      .map((p, j) => `${j === 0 ? 'M' : 'L'}${x(p.x).toFixed(1)},${y(p.y).toFixed(1)}`)
      .join(' ')
    out.push(`<path d="${d}" fill="none" stroke="${series.color}" stroke-width="2"${dash}/>`)
    for (const p of series.points)
      out.push(`<circle cx="${x(p.x).toFixed(1)}" cy="${y(p.y).toFixed(1)}" r="3" fill="${series.color}"/>`)
    out.push(
      `<line x1="${M.left + 10}" y1="${M.top + 14 + i * 16}" x2="${M.left + 30}" y2="${M.top + 14 + i * 16}" stroke="${series.color}" stroke-width="2"${dash}/>`,
      `<text x="${M.left + 36}" y="${M.top + 18 + i * 16}">${escapeXml(series.label)}</text>`,
    )
  })
  out.push('</svg>')
  return `${out.join('\n')}\n`
}

function niceStep(max: number): number {
  const raw = max / 8
  const pow = 10 ** Math.floor(Math.log10(raw))
  for (const m of [1, 2, 5, 10]) if (raw <= m * pow) return m * pow
  return 10 * pow
}

const round = (v: number) =>
  v >= 1000 ? v.toLocaleString('en-US', { maximumFractionDigits: 0 }) : String(Math.round(v * 100) / 100)
const escapeXml = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/"/g, '&quot;')
