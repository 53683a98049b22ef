// Activity: the delivery log of the org or of one webhook, newest first, filtered and paged on the
// server. Pages follow the API's cursor: "Older" asks for the deliveries past the last one shown
// (`after` = the answer's `next`). A filtered read the API has no index for stops after a bounded
// number of records and says `truncated`: the page then says how far the search got, and "Search
// further" goes on from there (`next`), adding what it finds until the page is full. While the
// newest page is shown it is polled every few seconds (see the README: polling is simple, passes
// every proxy, and costs one small paged read per interval per open tab).
import { announce, fill, field, h, isoToLocal, listTable, localToIso, statusBadge, when } from './dom.js';

const PAGE = 50;
export const POLL_MS = 3000;
/** A page that took long to compute (filters over a large window) is asked for less often. */
const POLL_COST_FACTOR = 5;
const TOPICS = ['deviceauth', 'inventory', 'audits', 'device-events', 'alarms', 'messages', 'ping'];

function select(name, options, value) {
  return h(
    'select',
    { name },
    h('option', { value: '' }, 'any'),
    options.map(([v, label]) => h('option', { value: v, selected: v === value }, label)),
  );
}

export function renderActivity(ctx, main, query) {
  const { api, canWrite } = ctx;
  const webhookId = query.get('webhook') ?? '';
  const webhook = select('webhook', [], webhookId);
  const status = select(
    'status',
    ['pending', 'succeeded', 'failed'].map((s) => [s, s]),
    query.get('status') ?? '',
  );
  const topic = select(
    'topic',
    TOPICS.map((t) => [t, t]),
    query.get('topic') ?? '',
  );
  const code = h('input', {
    name: 'status_code',
    type: 'number',
    min: 100,
    max: 599,
    inputmode: 'numeric',
    value: query.get('status_code') ?? '',
  });
  const since = h('input', { name: 'since', type: 'datetime-local', value: query.get('since') ?? '' });
  const until = h('input', { name: 'until', type: 'datetime-local', value: query.get('until') ?? '' });
  const live = h('input', { type: 'checkbox', name: 'live', checked: true, id: 'activity-live' });
  const filters = h(
    'form',
    { class: 'filters', 'aria-label': 'Filters' },
    field('Webhook', webhook),
    field('Status', status),
    field('Topic', topic),
    field('Status code', code),
    field('Since', since),
    field('Until', until),
    h(
      'div',
      { class: 'filter-actions' },
      h('button', { type: 'submit', class: 'primary' }, 'Apply filters'),
      h('label', { class: 'check' }, live, ' Live updates'),
    ),
  );
  const body = h('tbody');
  const pager = h('div', { class: 'pager' });
  const state = h('p', { class: 'muted', 'aria-live': 'polite' });
  const controls = h('div');
  let timer;
  let stopped = false;

  filters.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const q = new URLSearchParams();
    for (const [k, el] of Object.entries({ webhook, status, topic, status_code: code, since, until }))
      if (el.value) q.set(k, el.value);
    ctx.go(`#/activity?${q}`);
  });

  async function retry(d, cell) {
    try {
      await api.call('retryDelivery', { params: { id: d.id } });
      fill(cell, h('span', { class: 'good' }, 'Retry queued'));
      announce(`Retry of ${d.id} queued.`);
      setTimeout(load, 500);
    } catch (err) {
      fill(cell, h('span', { class: 'bad' }, err.message));
    }
  }

  function row(d, names) {
    const actions = h('div', { class: 'actions', 'aria-live': 'polite' });
    if (canWrite && d.status === 'failed')
      actions.append(h('button', { type: 'button', onclick: () => retry(d, actions) }, 'Retry'));
    return h(
      'tr',
      { 'data-delivery-id': d.id, 'data-status': d.status },
      h('td', {}, h('a', { href: `#/deliveries/${encodeURIComponent(d.id)}` }, when(d.created_at))),
      h('td', {}, statusBadge(d.status)),
      h('td', {}, d.topic),
      h('td', {}, names.get(d.webhook_id) ?? d.webhook_id),
      h('td', {}, d.status_code ?? '—', d.error ? h('div', { class: 'muted' }, d.error) : null),
      h('td', {}, String(d.attempts)),
      h('td', { class: 'mono' }, d.event_ids.length > 1 ? `${d.event_ids.length} events` : d.event_ids[0]),
      h('td', {}, actions),
    );
  }

  let names = new Map();
  let lastSeen;
  /** The page shown: `after` the cursor it starts past ('' = the newest), `before` rows on newer pages. */
  let at = { after: '', before: 0 };
  /** Cursors of the newer pages, for "Newer". */
  const newer = [];
  /** What the page holds so far: its rows, the answer's `next`, `truncated` and total. */
  let shown = { rows: [], next: undefined, truncated: false, total: 0 };
  /** "Search further" added to this page: polling would undo it. */
  let extended = false;
  /** Each read's number: an answer that is no longer the latest read's is dropped. */
  let reads = 0;

  function read(after, limit) {
    const q = {
      status: status.value,
      topic: topic.value,
      status_code: code.value,
      since: localToIso(since.value),
      until: localToIso(until.value),
      after: after || undefined,
      limit,
    };
    return webhookId
      ? api.call('listWebhookDeliveries', { params: { id: webhookId }, query: q })
      : api.call('listDeliveries', { query: q });
  }

  const polling = () => at.after === '' && !extended && live.checked;

  async function load() {
    const started = performance.now();
    clearTimeout(timer);
    extended = false;
    const mine = ++reads;
    try {
      const page = await read(at.after, PAGE);
      if (stopped || mine !== reads) return;
      // unchanged pages are left as they are: focus and the results shown in rows stay put
      const seen = JSON.stringify(page);
      if (seen !== lastSeen) {
        shown = { rows: page.deliveries, next: page.next, truncated: !!page.truncated, total: page.total };
        render();
      }
      lastSeen = seen;
      fill(
        state,
        polling()
          ? `Live: updated ${new Date().toLocaleTimeString()}`
          : 'Live updates paused (not on the newest page, or turned off).',
      );
    } catch (err) {
      if (stopped || mine !== reads) return;
      lastSeen = undefined;
      fill(body, h('tr', {}, h('td', { colspan: 8, class: 'bad' }, err.message)));
    }
    const every = Math.max(POLL_MS, POLL_COST_FACTOR * (performance.now() - started));
    if (!stopped && polling()) timer = setTimeout(load, every);
  }

  /** Goes on with a truncated read from where it stopped, adding its matches to this page. */
  async function searchFurther(ev) {
    const button = ev.currentTarget;
    button.disabled = true;
    fill(button, 'Searching…');
    clearTimeout(timer);
    extended = true;
    lastSeen = undefined;
    fill(state, 'Live updates paused (searching older records).');
    const mine = ++reads;
    try {
      const page = await read(shown.next, PAGE - shown.rows.length);
      if (stopped || mine !== reads) return;
      const found = page.deliveries.length;
      shown = {
        rows: [...shown.rows, ...page.deliveries],
        next: page.next,
        truncated: !!page.truncated,
        total: shown.rows.length + page.total,
      };
      render();
      announce(`${found} more ${found === 1 ? 'delivery' : 'deliveries'} found.`);
    } catch (err) {
      if (!stopped && mine === reads) fill(pager, h('span', { class: 'bad' }, err.message));
    }
  }

  function go(to) {
    at = to;
    lastSeen = undefined;
    load();
  }

  function render() {
    const { rows, next, truncated, total } = shown;
    fill(
      body,
      rows.length
        ? rows.map((d) => row(d, names))
        : h(
            'tr',
            {},
            h(
              'td',
              { colspan: 8, class: 'empty' },
              truncated ? 'No matches among the records searched so far.' : 'No deliveries match.',
            ),
          ),
    );
    const range = `${rows.length ? at.before + 1 : at.before}–${at.before + rows.length}`;
    const found = (at.before + total).toLocaleString();
    const full = rows.length >= PAGE;
    fill(
      pager,
      h(
        'span',
        { class: 'pager-count' },
        truncated
          ? `${rows.length ? `${range}; the` : 'The'} search stopped at its limit of records checked (${found} matches found so far)`
          : `${range} of ${found}`,
      ),
      h(
        'button',
        {
          type: 'button',
          disabled: !newer.length,
          onclick: () => go(newer.pop()),
        },
        'Newer',
      ),
      truncated && !full
        ? h('button', { type: 'button', class: 'primary', onclick: searchFurther }, 'Search further')
        : null,
      h(
        'button',
        {
          type: 'button',
          disabled: !(next && full),
          onclick: () => {
            newer.push(at);
            go({ after: next, before: at.before + rows.length });
          },
        },
        'Older',
      ),
    );
  }
  live.addEventListener('change', load);

  fill(
    main,
    h('div', { class: 'page-head' }, h('h1', {}, 'Activity'), state),
    filters,
    controls,
    listTable(
      'Deliveries, newest first',
      ['Created', 'Status', 'Topic', 'Webhook', 'Last answer', 'Attempts', 'Event', 'Actions'],
      body,
    ),
    pager,
  );

  api.call('listWebhooks', { query: { limit: 200 } }).then(
    (list) => {
      names = new Map(list.webhooks.map((w) => [w.id, w.name]));
      for (const w of list.webhooks) webhook.append(h('option', { value: w.id, selected: w.id === webhookId }, w.name));
      if (webhookId && canWrite)
        fill(controls, windowControls(ctx, webhookId, names.get(webhookId) ?? webhookId, load));
      load();
    },
    () => load(),
  );
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}

/** Recover since… (retry the failed deliveries of a window) and Replay since… (deliver its events again). */
function windowControls(ctx, webhookId, name, reload) {
  const since = h('input', {
    name: 'since',
    type: 'datetime-local',
    required: true,
    value: isoToLocal(new Date(Date.now() - 3_600_000)),
  });
  since.id = 'window-since';
  const result = h('p', { class: 'row-result', 'aria-live': 'polite' });
  const run = async (what) => {
    const iso = localToIso(since.value);
    if (!iso) {
      fill(result, h('span', { class: 'bad' }, 'Choose a start time.'));
      return;
    }
    try {
      const route = what === 'recover' ? 'recoverWebhook' : 'replayWebhook';
      const r = await ctx.api.call(route, { params: { id: webhookId }, body: { since: iso } });
      // a count, or the ids queued: the contract leaves it open
      const count = (v) => (Array.isArray(v) ? v.length : Number(v));
      const text =
        what === 'recover'
          ? `Recover: ${count(r.deliveries)} failed deliveries retried now.`
          : `Replay: ${count(r.events)} events queued again.`;
      fill(result, h('span', { class: 'good' }, text));
      announce(text);
      setTimeout(reload, 500);
    } catch (err) {
      fill(
        result,
        h('span', { class: 'bad' }, err.status === 404 ? `${what} is not available on this server` : err.message),
      );
    }
  };
  return h(
    'section',
    { class: 'card window-controls', 'aria-label': `Recover or replay ${name}` },
    h('h2', {}, `Recover or replay: ${name}`),
    h(
      'div',
      { class: 'row' },
      h('div', { class: 'field' }, h('label', { for: 'window-since' }, 'Since'), since),
      h('button', { type: 'button', onclick: () => run('recover') }, 'Recover failed since…'),
      h('button', { type: 'button', onclick: () => run('replay') }, 'Replay events since…'),
    ),
    result,
  );
}
