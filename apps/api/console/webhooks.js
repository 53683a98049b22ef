// Webhooks: the list with each one's health (last delivery, success rate over the last hour, from
// the delivery log), and its actions: edit, enable/disable, ping, rotate the secret, delete.
import { ago, announce, confirmDialog, fill, fillPager, h, listTable, shownOnce } from './dom.js';

const HOUR_MS = 3_600_000;
const PAGE = 50;

/** A webhook just created with a generated secret: the list shows its secret once (kept in memory only). */
let justCreated;
export function showSecretOnce(webhook) {
  justCreated = webhook.secret ? { name: webhook.name, secret: webhook.secret } : undefined;
}

/** Last delivery and the last hour's success rate of one webhook: three small reads of its log. */
async function healthOf(api, id) {
  const list = (query) => api.call('listWebhookDeliveries', { params: { id }, query });
  const since = new Date(Date.now() - HOUR_MS).toISOString();
  const [last, ok, failed] = await Promise.all([
    list({ limit: 1 }),
    list({ since, status: 'succeeded', limit: 1 }),
    list({ since, status: 'failed', limit: 1 }),
  ]);
  const done = ok.total + failed.total;
  return { last: last.deliveries[0], rate: done ? ok.total / done : undefined, done };
}

/**
 * At most this many webhooks' health is read at once (three reads each): a page of 50 webhooks is
 * 150 reads, and the API lets one key have only a few delivery-log reads at a time.
 */
const HEALTH_CONCURRENCY = 1;
let healthRunning = 0;
const healthQueue = [];

function limited(task) {
  return new Promise((resolve, reject) => {
    const run = () => {
      healthRunning++;
      task()
        .then(resolve, reject)
        .finally(() => {
          healthRunning--;
          healthQueue.shift()?.();
        });
    };
    if (healthRunning < HEALTH_CONCURRENCY) run();
    else healthQueue.push(run);
  });
}

function healthCell(cell, api, w) {
  fill(cell, h('span', { class: 'muted' }, 'loading…'));
  limited(() => healthOf(api, w.id)).then(
    ({ last, rate, done }) =>
      fill(
        cell,
        h(
          'div',
          {},
          'Last: ',
          last
            ? h('a', { href: `#/deliveries/${encodeURIComponent(last.id)}` }, `${last.status} ${ago(last.created_at)}`)
            : 'never',
        ),
        h(
          'div',
          { class: rate === undefined ? 'muted' : rate >= 0.95 ? 'good' : rate >= 0.5 ? 'warn' : 'bad' },
          rate === undefined
            ? 'No finished deliveries in the last hour'
            : `${Math.round(rate * 100)} % of ${done} in the last hour`,
        ),
      ),
    (err) => fill(cell, h('span', { class: 'bad' }, err.message)),
  );
}

export function renderWebhooks(ctx, main) {
  const { api, canWrite } = ctx;
  const notice = h('div', { class: 'notice-area', 'aria-live': 'polite' });
  const body = h('tbody');
  const pager = h('div', { class: 'pager' });
  let offset = 0;

  async function act(w, what, row) {
    const out = row.querySelector('.row-result');
    const params = { id: w.id };
    try {
      if (what === 'ping') {
        fill(out, 'Pinging…');
        const r = await api.call('pingWebhook', { params });
        const text =
          r.status === 'succeeded'
            ? `Ping succeeded: HTTP ${r.status_code} in ${r.duration_ms} ms`
            : `Ping ${r.status}: ${r.status_code ? `HTTP ${r.status_code}` : (r.error ?? 'no answer')}${r.duration_ms !== undefined ? ` after ${r.duration_ms} ms` : ''}`;
        fill(out, h('span', { class: r.status === 'succeeded' ? 'good' : 'bad' }, text));
        announce(text);
        return;
      }
      if (what === 'toggle') {
        await api.call('patchWebhook', { params, body: { enabled: !w.enabled } });
        announce(`${w.name} ${w.enabled ? 'disabled' : 'enabled'}.`);
      } else if (what === 'delete') {
        if (!(await confirmDialog(`Delete the webhook "${w.name}"? Its deliveries stop at once.`, 'Delete webhook')))
          return;
        await api.call('deleteWebhook', { params });
        announce(`${w.name} deleted.`);
      } else if (what === 'rotate') {
        if (
          !(await confirmDialog(
            `Rotate the secret of "${w.name}"? Standard signing signs with both secrets for 24 h.`,
            'Rotate secret',
          ))
        )
          return;
        const r = await api.call('rotateSecret', { params, body: {} });
        fill(
          notice,
          shownOnce(
            `New secret of ${w.name}`,
            r.secret,
            `Shown once: copy it to your receiver now.${r.previous_expires_at ? ` The old secret keeps signing until ${new Date(r.previous_expires_at).toLocaleString()}.` : ''}`,
          ),
        );
        announce('Secret rotated. The new secret is shown once.');
      }
      await load();
    } catch (err) {
      fill(out, h('span', { class: 'bad' }, err.message));
      announce(err.message);
    }
  }

  function row(w) {
    const health = h('td');
    const tr = h(
      'tr',
      { 'data-webhook-id': w.id },
      h('td', {}, h('strong', {}, w.name), h('div', { class: 'muted mono' }, w.id)),
      h('td', { class: 'mono wrap' }, w.url),
      h('td', {}, w.topics.join(', ')),
      h('td', {}, [w.site_id ? `site ${w.site_id}` : 'whole org', w.group_id ? `, group ${w.group_id}` : '']),
      h('td', {}, w.signing ?? 'standard', w.has_secret ? '' : h('div', { class: 'muted' }, 'no secret')),
      h(
        'td',
        {},
        h(
          'span',
          { class: `badge ${w.enabled ? 'badge-succeeded' : 'badge-failed'}` },
          w.enabled ? 'enabled' : 'disabled',
        ),
        w.disabled_reason ? h('div', { class: 'bad' }, w.disabled_reason) : null,
      ),
      health,
      h(
        'td',
        {},
        h(
          'div',
          { class: 'actions' },
          h('a', { href: `#/activity?webhook=${encodeURIComponent(w.id)}` }, 'Activity'),
          canWrite
            ? [
                h('a', { href: `#/webhooks/${encodeURIComponent(w.id)}/edit` }, 'Edit'),
                h('button', { type: 'button', onclick: () => act(w, 'ping', tr) }, 'Ping'),
                h('button', { type: 'button', onclick: () => act(w, 'toggle', tr) }, w.enabled ? 'Disable' : 'Enable'),
                h('button', { type: 'button', onclick: () => act(w, 'rotate', tr) }, 'Rotate secret'),
                h('button', { type: 'button', class: 'danger', onclick: () => act(w, 'delete', tr) }, 'Delete'),
              ]
            : null,
        ),
        h('div', { class: 'row-result', 'aria-live': 'polite' }),
      ),
    );
    healthCell(health, api, w);
    return tr;
  }

  async function load() {
    try {
      const page = await api.call('listWebhooks', { query: { offset, limit: PAGE } });
      fill(
        body,
        page.webhooks.length
          ? page.webhooks.map(row)
          : h(
              'tr',
              {},
              h('td', { colspan: 8, class: 'empty' }, canWrite ? 'No webhooks yet: create one.' : 'No webhooks yet.'),
            ),
      );
      fillPager(pager, {
        offset,
        shown: page.webhooks.length,
        total: page.total,
        size: PAGE,
        go: (o) => ((offset = o), load()),
        labels: ['Previous', 'Next'],
      });
    } catch (err) {
      fill(body, h('tr', {}, h('td', { colspan: 8, class: 'bad' }, err.message)));
    }
  }

  if (justCreated) {
    // the secret of the webhook just created: shown here once, then forgotten
    const c = justCreated;
    justCreated = undefined;
    fill(
      notice,
      shownOnce(
        `Signing secret of ${c.name}`,
        c.secret,
        'Shown once: copy it to your receiver now. It is never shown again (rotate it to get a new one).',
      ),
    );
  }

  fill(
    main,
    h(
      'div',
      { class: 'page-head' },
      h('h1', {}, 'Webhooks'),
      canWrite
        ? h('a', { class: 'button primary', href: '#/webhooks/new' }, 'New webhook')
        : h('p', { class: 'muted' }, 'Read-only: a viewer key.'),
    ),
    notice,
    listTable(
      'Webhooks of this org',
      ['Name', 'URL', 'Topics', 'Scope', 'Signing', 'State', 'Health', 'Actions'],
      body,
    ),
    pager,
  );
  load();
}
