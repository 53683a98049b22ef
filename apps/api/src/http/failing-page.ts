/**
 * The failing-receivers page as HTML: one table, no scripts (it refreshes itself with a meta tag),
 * one style block allowed by its hash in the page's Content-Security-Policy.
 */
import { createHash } from 'node:crypto';
import { formatWait, type FailingReceiver, type FailingReport } from '@devhooks/engine';

const STYLE = `
body{font:14px/1.45 system-ui,sans-serif;margin:0;color:#1f2933;background:#f5f7fa}
header{background:#1f2933;color:#fff;padding:12px 24px;display:flex;gap:24px;align-items:baseline}
header h1{font-size:18px;margin:0}header a{color:#9fd3ff}
main{padding:16px 24px}table{border-collapse:collapse;width:100%;background:#fff}
th,td{text-align:left;padding:6px 10px;border-bottom:1px solid #e4e7eb;vertical-align:top}
th{background:#e4e7eb;font-weight:600}td.n{text-align:right;font-variant-numeric:tabular-nums}
.open{color:#fff;background:#c81e1e;padding:1px 6px;border-radius:3px}
.half_open{color:#000;background:#f5c518;padding:1px 6px;border-radius:3px}
.closed{color:#52606d}.err{font-family:ui-monospace,monospace;color:#b42318}
small{color:#616e7c}.empty{padding:24px;background:#fff}
`;

/** The page's Content-Security-Policy: nothing but its own style block. */
export const FAILING_PAGE_CSP =
  `default-src 'none'; style-src 'sha256-${createHash('sha256').update(STYLE).digest('base64')}'; ` +
  "base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
const esc = (v: unknown) => String(v ?? '').replace(/[&<>"']/g, (c) => ESCAPES[c]);

function breakerCell(r: FailingReceiver): string {
  const b = r.breaker;
  if (!b) return '<span class="closed">closed</span>';
  const label = b.state === 'half_open' ? 'half-open (probing)' : b.state;
  const where = b.state === 'open' ? ` <small>on ${b.open_on} of ${b.workers} worker(s)</small>` : '';
  const fails = b.consecutive_failures ? `<br><small>${b.consecutive_failures} failures in a row</small>` : '';
  return `<span class="${esc(b.state)}">${esc(label)}</span>${where}${fails}`;
}

function ago(iso: string | null, now: number): string {
  return iso ? `${formatWait(now - Date.parse(iso))} ago` : '';
}

function row(r: FailingReceiver, now: number, jobsPath: string): string {
  const next = r.next_attempt_at ? `in ${formatWait(Date.parse(r.next_attempt_at) - now)}` : '';
  return `<tr>
<td><strong>${esc(r.webhook_name)}</strong><br><small>${esc(r.webhook_id)}</small></td>
<td><small>${esc(r.org_id)}</small></td>
<td>${esc(r.receiver)}</td>
<td class="n">${r.pending}</td>
<td class="n">${r.failed_24h}</td>
<td><span class="err">${esc(r.last_error)}</span><br><small>${esc(ago(r.last_error_at, now))}</small></td>
<td>${r.oldest_pending_age_ms === null ? '' : esc(formatWait(r.oldest_pending_age_ms))}</td>
<td>${esc(next)}</td>
<td>${esc(ago(r.failing_since, now))}</td>
<td>${breakerCell(r)}</td>
<td><a href="${esc(jobsPath)}">jobs</a></td>
</tr>`;
}

export interface FailingPageLinks {
  /** The dashboard. */
  board: string;
  /** Its list of jobs waiting for their next attempt. */
  jobs: string;
}

export function failingPage(report: FailingReport, links: FailingPageLinks): string {
  const now = Date.parse(report.generated_at);
  const rows = report.receivers.map((r) => row(r, now, links.jobs)).join('\n');
  const note = report.scanned.truncated
    ? '<p><small>More jobs than read: counts are lower bounds (the newest jobs of each state were read).</small></p>'
    : '';
  const body = report.receivers.length
    ? `<table><thead><tr><th>Webhook</th><th>Org</th><th>Receiver</th><th>Pending (failed before)</th>
<th>Failed, 24 h</th><th>Last error</th><th>Oldest pending</th><th>Next attempt</th><th>All failing since</th>
<th>Breaker</th><th></th></tr></thead><tbody>
${rows}
</tbody></table>${note}`
    : '<p class="empty">No receiver is failing: no delivery waits for a retry after a failed attempt, and none failed for good in the last 24 h.</p>';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta http-equiv="refresh" content="30">
<title>Failing receivers · devhooks</title><style>${STYLE}</style></head>
<body><header><h1>Failing receivers</h1><a href="${esc(links.board)}">Retry queue (Bull Board)</a>
<a href="?format=json">JSON</a><small>as of ${esc(report.generated_at)}, refreshes every 30 s</small></header>
<main>${body}</main></body></html>`;
}
