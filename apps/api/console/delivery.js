// One delivery: what was sent (headers with signatures redacted by the API, the body) and every
// attempt with its answer. Failed deliveries can be retried by hand.
import { announce, fill, h, statusBadge, when } from './dom.js';

const PENDING_POLL_MS = 2000;

function headerTable(caption, headers) {
  const entries = Object.entries(headers ?? {});
  if (!entries.length) return h('p', { class: 'muted' }, `${caption}: none recorded.`);
  return h(
    'table',
    { class: 'headers' },
    h('caption', {}, caption),
    h(
      'tbody',
      {},
      entries.map(([k, v]) => h('tr', {}, h('th', { scope: 'row' }, k), h('td', { class: 'mono wrap' }, v))),
    ),
  );
}

function pretty(body) {
  if (body === null || body === undefined) return '';
  if (typeof body !== 'string') return JSON.stringify(body, null, 2);
  try {
    return JSON.stringify(JSON.parse(body), null, 2);
  } catch {
    return body;
  }
}

function attempt(a, i) {
  return h(
    'li',
    { class: 'card attempt' },
    h(
      'h3',
      {},
      `Attempt ${i + 1}: `,
      a.status_code ? `HTTP ${a.status_code}` : (a.error ?? 'no answer'),
      a.trigger === 'manual' ? ' (retried by hand)' : '',
    ),
    h(
      'dl',
      { class: 'facts' },
      h('dt', {}, 'At'),
      h('dd', {}, when(a.at)),
      h('dt', {}, 'Duration'),
      h('dd', {}, `${a.duration_ms} ms`),
      h('dt', {}, 'Error'),
      h('dd', {}, a.error ? `${a.error}${a.error_message ? `: ${a.error_message}` : ''}` : 'none'),
    ),
    headerTable('Response headers', a.response_headers),
    a.response_body
      ? [h('h4', {}, 'Response body (first 4 KiB)'), h('pre', { class: 'body', tabindex: 0 }, a.response_body)]
      : null,
  );
}

export function renderDelivery(ctx, main, id) {
  const { api, canWrite } = ctx;
  const result = h('p', { class: 'row-result', 'aria-live': 'polite' });
  fill(main, h('p', { class: 'muted' }, 'Loading…'));
  let timer;
  let stopped = false;

  async function load() {
    clearTimeout(timer);
    let d;
    try {
      d = await api.call('getDelivery', { params: { id } });
      if (stopped) return;
      // a pending delivery is read again until it settles (a retry running, the next attempt due)
      if (d.status === 'pending') timer = setTimeout(load, PENDING_POLL_MS);
    } catch (err) {
      if (stopped) return;
      fill(
        main,
        h('h1', {}, 'Delivery'),
        h('p', { class: 'bad' }, err.message),
        h('a', { href: '#/activity' }, 'Back to activity'),
      );
      return;
    }
    const retry = async () => {
      try {
        await api.call('retryDelivery', { params: { id } });
        fill(result, h('span', { class: 'good' }, 'Retry queued: a new attempt runs now.'));
        announce('Retry queued.');
        load();
      } catch (err) {
        fill(result, h('span', { class: 'bad' }, err.message));
      }
    };
    const attempts = d.attempt_log ?? [];
    fill(
      main,
      h(
        'p',
        {},
        h('a', { href: `#/activity?webhook=${encodeURIComponent(d.webhook_id)}` }, '← Activity of this webhook'),
      ),
      h(
        'div',
        { class: 'page-head' },
        h('h1', {}, 'Delivery ', h('span', { class: 'mono' }, d.id)),
        statusBadge(d.status),
      ),
      canWrite && d.status === 'failed'
        ? h('button', { type: 'button', class: 'primary', onclick: retry }, 'Retry delivery')
        : null,
      result,
      h(
        'dl',
        { class: 'facts card' },
        [
          ['Webhook', d.webhook_id],
          ['Topic', d.topic],
          ['Events', d.event_ids.join(', ')],
          ['webhook-id', d.message_id],
          ['Attempts', String(d.attempts)],
          ['Last status', d.status_code ?? '—'],
          ['Last error', d.error ?? 'none'],
          ['Created', when(d.created_at)],
          ['Updated', when(d.updated_at)],
          ['Next attempt', d.next_attempt_at ? when(d.next_attempt_at) : '—'],
          d.held_by ? ['Held by', d.held_by] : null,
        ]
          .filter(Boolean)
          .map(([k, v]) => [h('dt', {}, k), h('dd', { class: 'mono wrap' }, String(v))]),
      ),
      h('h2', {}, 'Request'),
      h('p', { class: 'mono wrap' }, `${d.request?.method ?? 'POST'} ${d.request?.url ?? d.url}`),
      headerTable('Request headers (signatures redacted)', d.request?.headers),
      h('h3', {}, 'Body'),
      d.request?.body !== null && d.request?.body !== undefined
        ? h('pre', { class: 'body', tabindex: 0 }, pretty(d.request.body))
        : h('p', { class: 'muted' }, d.request?.body_unavailable ?? 'Not available.'),
      h('h2', {}, `Attempts (${attempts.length})`),
      attempts.length
        ? h('ol', { class: 'attempts' }, attempts.map(attempt))
        : h('p', { class: 'muted' }, 'No attempt yet.'),
    );
  }
  load();
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}
