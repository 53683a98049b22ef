// Event types: the catalog (GET /v1/event-types: type, topic, description, schema, example) and,
// for admin and producer keys, a form that sends a test event.
import { announce, fill, field, h, showErrors } from './dom.js';

function exampleFor(t) {
  if (t.example) return t.example;
  const now = Math.floor(Date.now() / 1000);
  const base = {
    id: 'device-1',
    status: 'accepted',
    message: 'test',
    timestamp: now,
    type: 'TEST',
    device_id: 'device-1',
  };
  const required = t.schema?.required ?? [];
  const data = Object.fromEntries(
    required.map((k) => [
      k,
      k === 'inventory' ? [{ name: 'os', value: 'linux', scope: 'inventory' }] : (base[k] ?? 'x'),
    ]),
  );
  return { type: t.type, data };
}

function sendForm(ctx, types) {
  const type = h(
    'select',
    { name: 'type' },
    types.map((t) => h('option', { value: t.type }, t.type)),
  );
  const body = h('textarea', { name: 'data', rows: 10, spellcheck: 'false', class: 'mono' });
  const general = h('p', { class: 'form-error', role: 'alert', hidden: true });
  const result = h('p', { class: 'row-result', 'aria-live': 'polite' });
  const setExample = () => {
    const ex = exampleFor(types.find((t) => t.type === type.value));
    body.value = JSON.stringify(ex.data ?? ex, null, 2);
  };
  type.addEventListener('change', setExample);
  const form = h(
    'form',
    { class: 'card form', 'aria-labelledby': 'send-title', novalidate: true },
    h('h2', { id: 'send-title' }, 'Send a test event'),
    h(
      'p',
      { class: 'muted' },
      'Sent with POST /v1/events to every matching webhook of the org, like any producer’s event.',
    ),
    field('Event type', type),
    field('Data (JSON)', body, 'The event’s data object; an example of the type is filled in.'),
    general,
    h('button', { type: 'submit', class: 'primary' }, 'Send event'),
    result,
  );
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    let data;
    try {
      data = JSON.parse(body.value);
    } catch (err) {
      showErrors(form, { message: 'invalid JSON', details: [{ path: '/data', message: err.message }] }, general);
      return;
    }
    try {
      const r = await ctx.api.call('sendEvents', { body: { type: type.value, data } });
      showErrors(form, undefined, general);
      const text = `Accepted ${r.accepted} event (id ${r.ids[0]}).`;
      fill(result, h('span', { class: 'good' }, text, ' ', h('a', { href: '#/activity' }, 'See activity')));
      announce(text);
    } catch (err) {
      showErrors(form, err, general);
      fill(result, '');
    }
  });
  setExample();
  return form;
}

export function renderEventTypes(ctx, main) {
  const list = h('div', { class: 'types' }, h('p', { class: 'muted' }, 'Loading…'));
  const canSend = ctx.me.role === 'admin' || ctx.me.role === 'producer';
  const sendArea = h('div');
  fill(main, h('div', { class: 'page-head' }, h('h1', {}, 'Event types')), sendArea, list);
  ctx.api
    .call('listEventTypes')
    .then((r) => r.event_types)
    .then(
      (types) => {
        if (canSend) fill(sendArea, sendForm(ctx, types));
        fill(
          list,
          types.map((t) =>
            h(
              'section',
              { class: 'card type', 'aria-labelledby': `type-${t.type}` },
              h(
                'h2',
                { id: `type-${t.type}` },
                t.type,
                t.topic ? h('span', { class: 'badge' }, `topic ${t.topic}`) : null,
              ),
              t.description ? h('p', {}, t.description) : null,
              h(
                'details',
                {},
                h('summary', {}, 'Schema'),
                h('pre', { class: 'body', tabindex: 0 }, JSON.stringify(t.schema ?? {}, null, 2)),
              ),
              t.example
                ? [h('h3', {}, 'Example'), h('pre', { class: 'body', tabindex: 0 }, JSON.stringify(t.example, null, 2))]
                : null,
            ),
          ),
        );
      },
      (err) => fill(list, h('p', { class: 'bad' }, err.message)),
    );
}
