// The dashboard's one HTML page: rendered on the server from the queues' counts and recent
// failures, styled and scripted inline (a nonce'd script, no CDN), so it works offline and
// behind a strict Content-Security-Policy.

import type { JobCounts } from '../durable/queue-types.js'
import type { JobInfo } from '../store/job-store.js'

export interface QueueView {
  name: string
  counts: JobCounts
  failures: JobInfo[]
}

const escapes: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
}
const html = (text: unknown) => String(text).replace(/[&<>"']/g, (c) => escapes[c]!)

const STATES = ['waiting', 'delayed', 'active', 'completed', 'failed'] as const
const LEVELS = ['critical', 'high', 'medium', 'low'] as const

function queueSection(view: QueueView): string {
  const q = html(view.name)
  const counts = STATES.map(
    (state) =>
      `<div class="count ${state}${view.counts[state] > 0 ? ' some' : ''}"><span>${state}</span><b data-count="${state}">${view.counts[state]}</b></div>`,
  ).join('')
  const levels = LEVELS.map(
    (level) => `<td data-priority="${level}">${view.counts.waitingByPriority[level]}</td>`,
  ).join('')
  const rows = view.failures
    .map(
      (job) => `<tr data-job-id="${html(job.id)}">
<td class="mono">${html(job.id)}</td><td>${html(job.name)}</td><td>${job.attempts}/${job.maxAttempts}</td>
<td class="error">${html((job.error?.message ?? '').slice(0, 2000))}${job.error?.code ? ` <code>${html(job.error.code)}</code>` : ''}</td>
<td><button type="button" data-retry-job="${html(job.id)}" data-queue="${q}">Retry</button></td></tr>`,
    )
    .join('')
  const failures =
    view.failures.length === 0
      ? '<p class="none">No failed jobs.</p>'
      : `<table class="failures"><thead><tr><th>id</th><th>name</th><th>attempts</th><th>error</th><th></th></tr></thead><tbody>${rows}</tbody></table>
<button type="button" data-retry-all data-queue="${q}">Retry all failed</button>`
  return `<section data-queue="${q}">
<h2>${q}</h2>
<div class="counts">${counts}</div>
<h3>Waiting by priority</h3>
<table class="levels"><thead><tr>${LEVELS.map((l) => `<th>${l}</th>`).join('')}</tr></thead><tbody><tr>${levels}</tr></tbody></table>
<h3>Recent failures</h3>
${failures}
</section>`
}

/** The page; `nonce` allows its one inline script under the response's CSP. */
export function renderPage(title: string, views: readonly QueueView[], nonce: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${html(title)}</title><link rel="icon" href="data:,">
<style nonce="${nonce}">
body{font:14px/1.4 system-ui,sans-serif;margin:0;padding:1rem 2rem;color:#1d2430;background:#f6f7f9}
h1{font-size:1.3rem}h2{font-size:1.1rem;margin-bottom:.5rem}h3{font-size:.95rem;color:#555}
section{background:#fff;border:1px solid #dde1e6;border-radius:6px;padding:1rem 1.25rem;margin-bottom:1.25rem}
.counts{display:flex;gap:.75rem;flex-wrap:wrap}.count{border:1px solid #dde1e6;border-radius:4px;padding:.4rem .8rem;min-width:6rem}
.count span{display:block;color:#666;font-size:.8rem}.count b{font-size:1.3rem}.count.failed.some b{color:#b42318}
table{border-collapse:collapse}th,td{text-align:left;padding:.3rem .6rem;border-bottom:1px solid #eceef1;vertical-align:top}
.error{color:#b42318;max-width:40rem;word-break:break-word}.mono{font-family:ui-monospace,monospace}
button{cursor:pointer;padding:.25rem .7rem}#status{color:#b42318}
</style></head><body>
<h1>${html(title)}</h1><p id="status" role="status"></p>
${views.map(queueSection).join('\n')}
<script nonce="${nonce}">
// The page's own path is the dashboard's root, wherever it is mounted.
const base = location.pathname.endsWith('/') ? location.pathname : location.pathname + '/'
async function post(path) {
  // The custom header makes this a request no cross-site form can send (CSRF).
  const res = await fetch(base + path, { method: 'POST', headers: { 'x-headroom-dashboard': 'retry' } })
  if (!res.ok) throw new Error((await res.text()) || res.statusText)
}
document.addEventListener('click', (event) => {
  const button = event.target.closest('button[data-queue]')
  if (!button) return
  const queue = encodeURIComponent(button.dataset.queue)
  const path = button.hasAttribute('data-retry-all')
    ? 'api/queues/' + queue + '/retry'
    : 'api/queues/' + queue + '/jobs/' + encodeURIComponent(button.dataset.retryJob) + '/retry'
  button.disabled = true
  post(path).then(() => location.reload(), (error) => {
    document.getElementById('status').textContent = 'Retry failed: ' + error.message
    button.disabled = false
  })
})
</script>
</body></html>`
}
