// Create or edit a webhook. The API checks everything; its error details land next to their fields.
import { announce, fill, field, h, showErrors } from './dom.js';
import { showSecretOnce } from './webhooks.js';

const TOPICS = ['deviceauth', 'inventory', 'audits', 'device-events', 'alarms', 'messages'];
const SIGNINGS = [
  ['standard', 'Standard Webhooks (webhook-signature)'],
  ['mender', 'Mender (X-Men-Signature)'],
  ['mist', 'Mist (X-Mist-Signature-v2)'],
];

function headersText(headers) {
  return Object.entries(headers ?? {})
    .map(([k, v]) => `${k}: ${v}`)
    .join('\n');
}

/** "Name: value" lines → a map; a line without a colon is an error of the headers field. */
function parseHeaders(text) {
  const out = {};
  for (const line of text
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)) {
    const i = line.indexOf(':');
    if (i <= 0)
      throw { message: 'invalid headers', details: [{ path: '/headers', message: `"${line}" is not "Name: value"` }] };
    out[line.slice(0, i).trim()] = line.slice(i + 1).trim();
  }
  return out;
}

export function renderWebhookForm(ctx, main, id) {
  const { api } = ctx;
  const editing = Boolean(id);
  const input = (name, props = {}) => h('input', { name, type: 'text', ...props });
  const name = input('name', { required: true, maxlength: 100 });
  const url = input('url', { type: 'url', required: true, placeholder: 'https://receiver.example.com/hooks' });
  const topics = h(
    'fieldset',
    { class: 'field', 'data-field': 'topics', 'aria-describedby': 'topics-error' },
    h('legend', {}, 'Topics'),
    TOPICS.map((t) =>
      h('label', { class: 'check' }, h('input', { type: 'checkbox', name: 'topics', value: t }), ` ${t}`),
    ),
    h('p', { class: 'field-error', id: 'topics-error', role: 'alert' }),
  );
  const site = input('site_id');
  const group = input('group_id');
  const signing = h(
    'select',
    { name: 'signing' },
    SIGNINGS.map(([v, label]) => h('option', { value: v }, label)),
  );
  const secret = input('secret', { autocomplete: 'off', spellcheck: 'false' });
  const headers = h('textarea', { name: 'headers', rows: 3, spellcheck: 'false', placeholder: 'X-Api-Key: abc' });
  const enabled = h('input', { type: 'checkbox', name: 'enabled', checked: true });
  const single = h('input', { type: 'checkbox', name: 'single_event_per_message' });
  const general = h('p', { class: 'form-error', role: 'alert', hidden: true });
  const form = h(
    'form',
    { class: 'card form', novalidate: true },
    field('Name', name),
    field('URL', url, 'Absolute http or https URL that receives the POSTs.'),
    topics,
    h(
      'div',
      { class: 'row' },
      field('Site id', site, 'Empty: the whole org.'),
      field('Group id', group, 'Empty: the whole site.'),
    ),
    field('Signing', signing),
    field(
      'Secret',
      secret,
      editing
        ? 'Empty keeps the current secret.'
        : 'Empty: a standard secret is generated and shown once; mender/mist without one send no signature.',
    ),
    field('Extra headers', headers, 'One "Name: value" per line.'),
    h(
      'div',
      { class: 'field', 'data-field': 'enabled' },
      h('label', { class: 'check' }, enabled, ' Enabled'),
      h('p', { class: 'field-error' }),
    ),
    h(
      'div',
      { class: 'field', 'data-field': 'single_event_per_message' },
      h('label', { class: 'check' }, single, ' One event per request (no batching of Mist-style topics)'),
      h('p', { class: 'field-error' }),
    ),
    general,
    h(
      'div',
      { class: 'actions' },
      h('button', { type: 'submit', class: 'primary' }, editing ? 'Save webhook' : 'Create webhook'),
      h('a', { href: '#/webhooks', class: 'button' }, 'Cancel'),
    ),
  );
  let original;

  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    let body;
    try {
      body = {
        name: name.value,
        url: url.value.trim(),
        topics: [...form.querySelectorAll('input[name="topics"]:checked')].map((c) => c.value),
        site_id: site.value.trim() || null,
        group_id: group.value.trim() || null,
        signing: signing.value,
        headers: parseHeaders(headers.value),
        enabled: enabled.checked,
        single_event_per_message: single.checked,
      };
    } catch (err) {
      showErrors(form, err, general);
      return;
    }
    if (secret.value) body.secret = secret.value;
    if (!editing) {
      // absent, not null, on create: the API's defaults apply
      for (const k of ['site_id', 'group_id']) if (body[k] === null) delete body[k];
      if (!Object.keys(body.headers).length) delete body.headers;
    } else if (!Object.keys(body.headers).length) body.headers = original?.headers ? null : undefined;
    try {
      const saved = editing
        ? await api.call('patchWebhook', { params: { id }, body })
        : await api.call('createWebhook', { body });
      announce(`Webhook ${saved.name} ${editing ? 'saved' : 'created'}.`);
      if (!editing) showSecretOnce(saved);
      ctx.go('#/webhooks');
    } catch (err) {
      showErrors(form, err, general);
      announce(`Not saved: ${err.message}`);
    }
  });

  fill(main, h('div', { class: 'page-head' }, h('h1', {}, editing ? 'Edit webhook' : 'New webhook')), form);
  if (editing) {
    api.call('getWebhook', { params: { id } }).then(
      (w) => {
        original = w;
        name.value = w.name;
        url.value = w.url;
        for (const c of form.querySelectorAll('input[name="topics"]')) c.checked = w.topics.includes(c.value);
        site.value = w.site_id ?? '';
        group.value = w.group_id ?? '';
        signing.value = w.signing ?? 'standard';
        headers.value = headersText(w.headers);
        enabled.checked = w.enabled;
        single.checked = Boolean(w.single_event_per_message);
        secret.placeholder = w.has_secret ? '(unchanged)' : '(none)';
      },
      (err) => showErrors(form, err, general),
    );
  }
  name.focus();
}
