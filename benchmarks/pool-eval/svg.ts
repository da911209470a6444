/** A dependency-free line chart as SVG, enough for the README's plots. */
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
  series: Series[]
  /** A shaded horizontal band (e.g. the static sizes within 10 % of the best). */
  band?: { from: number; to: number; label: string }
}

const W = 720
const H = 360
const M = { left: 56, right: 16, top: 36, bottom: 48 }

export function lineChart(chart: Chart): string {
  const pw = W - M.left - M.right
  const ph = H - M.top - M.bottom
  const x = (v: number) => M.left + (Math.min(v, chart.xMax) / chart.xMax) * pw
  const y = (v: number) => M.top + ph - (Math.min(v, chart.yMax) / chart.yMax) * ph
  const out: string[] = []
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12" role="img" aria-label="${escapeXml(chart.title)}">`,
    `<title>${escapeXml(chart.title)}</title>`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${W / 2}" y="20" text-anchor="middle" font-size="14" font-weight="bold">${escapeXml(chart.title)}</text>`,
  )
  if (chart.band) {
    const top = y(chart.band.to)
    out.push(
      `<rect x="${M.left}" y="${top}" width="${pw}" height="${y(chart.band.from) - top}" fill="#2ca02c" fill-opacity="0.12"/>`,
      `<text x="${M.left + pw - 4}" y="${top - 4}" text-anchor="end" fill="#2ca02c">${escapeXml(chart.band.label)}</text>`,
    )
  }
  const xStep = niceStep(chart.xMax)
  for (let v = 0; v <= chart.xMax + 1e-9; v += xStep) {
    out.push(
      `<line x1="${x(v)}" y1="${M.top}" x2="${x(v)}" y2="${M.top + ph}" stroke="#eee"/>`,
      `<text x="${x(v)}" y="${M.top + ph + 16}" text-anchor="middle">${round(v)}</text>`,
    )
  }
  const yStep = niceStep(chart.yMax)
  for (let v = 0; v <= chart.yMax + 1e-9; v += yStep) {
    out.push(
      `<line x1="${M.left}" y1="${y(v)}" x2="${M.left + pw}" y2="${y(v)}" stroke="#eee"/>`,
      `<text x="${M.left - 6}" y="${y(v) + 4}" text-anchor="end">${round(v)}</text>`,
    )
  }
  out.push(
    `<rect x="${M.left}" y="${M.top}" width="${pw}" height="${ph}" fill="none" stroke="#999"/>`,
    `<text x="${M.left + pw / 2}" y="${H - 10}" text-anchor="middle">${escapeXml(chart.xLabel)}</text>`,
    `<text transform="translate(16 ${M.top + ph / 2}) rotate(-90)" text-anchor="middle">${escapeXml(chart.yLabel)}</text>`,
  )
  chart.series.forEach((series, i) => {
    const d = series.points
      .map((p, j) => `${j === 0 ? 'M' : 'L'}${x(p.x).toFixed(1)},${y(p.y).toFixed(1)}`)
      .join(' ')
    out.push(
      `<path d="${d}" fill="none" stroke="${series.color}" stroke-width="2"${series.dashed ? ' stroke-dasharray="6 4"' : ''}/>`,
      `<line x1="${M.left + 10}" y1="${M.top + 14 + i * 16}" x2="${M.left + 30}" y2="${M.top + 14 + i * 16}" stroke="${series.color}" stroke-width="2"${series.dashed ? ' stroke-dasharray="6 4"' : ''}/>`,
      `<text x="${M.left + 36}" y="${M.top + 18 + i * 16}">${escapeXml(series.label)}</text>`,
    )
  })
  out.push('</svg>')
  return `${out.join('\n')}\n`
}

/** Step-function points: the size holds until the next change. */
export function steps(points: { t: number; size: number }[]): { x: number; y: number }[] {
  const out: { x: number; y: number }[] = []
  for (const [i, p] of points.entries()) {
    if (i > 0) out.push({ x: p.t, y: points[i - 1]!.size })
    out.push({ x: p.t, y: p.size })
  }
  return out
}

function niceStep(max: number): number {
  const raw = max / 8
  const pow = 10 ** Math.floor(Math.log10(raw))
  for (const m of [1, 2, 5, 10]) if (raw <= m * pow) return m * pow
  return 10 * pow
}

const round = (v: number) => String(Math.round(v * 100) / 100)
const escapeXml = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/"/g, '&quot;')
