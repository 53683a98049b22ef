// Keys (admin keys only): the org's API keys; create one (its key is shown once), revoke one.
import { announce, confirmDialog, fill, field, h, listTable, shownOnce, showErrors, when } from './dom.js';

export function renderKeys(ctx, main) {
  const { api, me } = ctx;
  const org = { org_id: me.org_id };
  const body = h('tbody');
  const notice = h('div', { 'aria-live': 'polite' });
  const name = h('input', { name: 'name', type: 'text', required: true, maxlength: 200 });
  const role = h(
    'select',
    { name: 'role' },
    ['viewer', 'producer', 'admin'].map((r) => h('option', { value: r }, r)),
  );
  const general = h('p', { class: 'form-error', role: 'alert', hidden: true });
  const form = h(
    'form',
    { class: 'card form inline', 'aria-labelledby': 'key-new-title', novalidate: true },
    h('h2', { id: 'key-new-title' }, 'New key'),
    h(
      'div',
      { class: 'row' },
      field('Name', name),
      field('Role', role),
      h('button', { type: 'submit', class: 'primary' }, 'Create key'),
    ),
    general,
  );

  async function load() {
    try {
      const { keys } = await api.call('listKeys', { params: org });
      fill(
        body,
        keys.map((k) =>
          h(
            'tr',
            { 'data-key-id': k.id },
            h('td', {}, k.name, k.id === me.key_id ? h('span', { class: 'muted' }, ' (this console)') : null),
            h('td', {}, k.role),
            h('td', { class: 'mono' }, k.id),
            h('td', {}, when(k.created_at)),
            h('td', {}, h('button', { type: 'button', class: 'danger', onclick: () => revoke(k) }, 'Revoke')),
          ),
        ),
      );
    } catch (err) {
      fill(body, h('tr', {}, h('td', { colspan: 5, class: 'bad' }, err.message)));
    }
  }

  async function revoke(k) {
    const self = k.id === me.key_id ? ' This is the key this console is signed in with: you will be signed out.' : '';
    if (!(await confirmDialog(`Revoke the key "${k.name}"? It stops working at once.${self}`, 'Revoke key'))) return;
    try {
      await api.call('revokeKey', { params: { ...org, key_id: k.id } });
      announce(`Key ${k.name} revoked.`);
      await load();
    } catch (err) {
      fill(notice, h('p', { class: 'bad' }, err.message));
    }
  }

  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    try {
      const k = await api.call('createKey', { params: org, body: { name: name.value, role: role.value } });
      showErrors(form, undefined, general);
      fill(notice, shownOnce(`Key ${k.name} (${k.role})`, k.key, 'Shown once: store it now. Only its hash is kept.'));
      announce(`Key ${k.name} created; it is shown once.`);
      name.value = '';
      await load();
    } catch (err) {
      showErrors(form, err, general);
    }
  });

  fill(
    main,
    h('div', { class: 'page-head' }, h('h1', {}, 'API keys')),
    form,
    notice,
    listTable('API keys of this org', ['Name', 'Role', 'Id', 'Created', 'Actions'], body),
  );
  load();
}
