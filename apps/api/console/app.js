// The console's shell: sign-in, the session (the key lives in this tab's sessionStorage only),
// navigation and the hash router. Pages render into <main> and may return a cleanup function.
import { createApi } from './api.js';
import { announce, fill, h } from './dom.js';
import { renderActivity } from './activity.js';
import { renderDelivery } from './delivery.js';
import { renderEventTypes } from './event-types.js';
import { renderKeys } from './keys.js';
import { renderWebhookForm } from './webhook-form.js';
import { renderWebhooks } from './webhooks.js';

const STORE = 'devhooks.console.key';
const main = document.getElementById('main');
const nav = document.getElementById('nav');
const who = document.getElementById('who');
let session; // { key, me, api }
let cleanup;

const PAGES = [
  { path: 'webhooks', label: 'Webhooks', roles: ['admin', 'viewer'] },
  { path: 'activity', label: 'Activity', roles: ['admin', 'viewer'] },
  { path: 'event-types', label: 'Event types', roles: ['admin', 'viewer', 'producer'] },
  { path: 'keys', label: 'Keys', roles: ['admin'] },
];

function signOut(reason) {
  sessionStorage.removeItem(STORE);
  session = undefined;
  nav.hidden = true;
  who.hidden = true;
  if (location.hash) history.replaceState(null, '', location.pathname);
  showSignIn(reason);
}

function showSignIn(reason) {
  cleanup?.();
  cleanup = undefined;
  const input = h('input', {
    id: 'signin-key',
    name: 'key',
    type: 'password',
    autocomplete: 'off',
    spellcheck: 'false',
    required: true,
  });
  const error = h('p', { class: 'form-error', role: 'alert', hidden: !reason }, reason ?? '');
  const form = h(
    'form',
    { class: 'card signin', 'aria-labelledby': 'signin-title' },
    h('h1', { id: 'signin-title' }, 'Sign in to the devhooks console'),
    h(
      'p',
      {},
      'Use an API key of your org. It stays in this browser tab only (session storage) and is forgotten when the tab closes. A viewer key opens a read-only console.',
    ),
    h('div', { class: 'field' }, h('label', { for: 'signin-key' }, 'API key'), input),
    error,
    h('button', { type: 'submit', class: 'primary' }, 'Sign in'),
  );
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const key = input.value.trim();
    try {
      await start(key);
    } catch (err) {
      fill(error, err.status === 401 ? 'That key is unknown or revoked.' : err.message);
      error.hidden = false;
      input.focus();
    }
  });
  document.title = 'Sign in · devhooks console';
  fill(main, form);
  input.focus();
}

async function start(key) {
  let revoked = false;
  const api = createApi(key, () => {
    if (revoked) return;
    revoked = true;
    if (session) signOut('Signed out: the API no longer accepts this key (revoked?).');
  });
  const me = await api.call('whoami');
  if (me.role === 'root') throw new Error('The root token manages orgs; sign in with an org API key.');
  sessionStorage.setItem(STORE, key);
  session = { key, me, api };
  renderNav();
  announce(`Signed in as ${me.name ?? me.key_id}, ${me.role}.`);
  route();
}

function renderNav() {
  const { me } = session;
  fill(
    nav,
    h(
      'ul',
      {},
      PAGES.filter((p) => p.roles.includes(me.role)).map((p) =>
        h('li', {}, h('a', { href: `#/${p.path}`, 'data-page': p.path }, p.label)),
      ),
    ),
  );
  fill(
    who,
    h(
      'span',
      {},
      `${me.name ?? me.key_id} · `,
      h('span', { class: `role role-${me.role}` }, me.role),
      ` · ${me.org_id}`,
    ),
    h('button', { type: 'button', class: 'link', onclick: () => signOut('Signed out.') }, 'Sign out'),
  );
  nav.hidden = false;
  who.hidden = false;
}

function route() {
  if (!session) return;
  cleanup?.();
  cleanup = undefined;
  const { me } = session;
  const [rawPath, rawQuery] = location.hash.replace(/^#\/?/, '').split('?');
  const parts = rawPath.split('/').filter(Boolean).map(decodeURIComponent);
  const query = new URLSearchParams(rawQuery ?? '');
  const fallback = me.role === 'producer' ? 'event-types' : 'webhooks';
  const page = PAGES.find((p) => p.path === parts[0]) ?? (parts[0] === 'deliveries' ? { path: 'deliveries' } : null);
  if (!page || (page.roles && !page.roles.includes(me.role))) {
    location.hash = `#/${fallback}`;
    return;
  }
  for (const a of nav.querySelectorAll('a')) {
    if (a.dataset.page === (page.path === 'deliveries' ? 'activity' : page.path))
      a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  const ctx = {
    api: session.api,
    me,
    canWrite: me.role === 'admin',
    go: (hash) => (location.hash = hash),
  };
  main.replaceChildren();
  const titles = {
    webhooks: 'Webhooks',
    activity: 'Activity',
    deliveries: 'Delivery',
    'event-types': 'Event types',
    keys: 'Keys',
  };
  document.title = `${titles[page.path]} · devhooks console`;
  let out;
  if (page.path === 'webhooks' && parts[1] === 'new') out = renderWebhookForm(ctx, main);
  else if (page.path === 'webhooks' && parts[1] && parts[2] === 'edit') out = renderWebhookForm(ctx, main, parts[1]);
  else if (page.path === 'webhooks') out = renderWebhooks(ctx, main);
  else if (page.path === 'activity') out = renderActivity(ctx, main, query);
  else if (page.path === 'deliveries') out = renderDelivery(ctx, main, parts[1]);
  else if (page.path === 'event-types') out = renderEventTypes(ctx, main);
  else if (page.path === 'keys') out = renderKeys(ctx, main);
  if (typeof out === 'function') cleanup = out;
  main.focus({ preventScroll: true });
}

window.addEventListener('hashchange', route);

const saved = sessionStorage.getItem(STORE);
if (saved) start(saved).catch((err) => signOut(err.status === 401 ? 'Your key is no longer accepted.' : err.message));
else showSignIn();
