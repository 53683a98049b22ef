/**
 * The web console in a real Chromium against the real API and worker on real Redis: sign in, create
 * a webhook (validation messages, the secret shown once), ping it, send events, watch them arrive
 * in Activity, open a failed delivery and retry it, a viewer's read-only console, keys, and a
 * revoked key signing the console out. Writes the README's screenshots (see DEVHOOKS_SCREENSHOT_DIR).
 */
import { startStack, type Stack } from '../support/stack';
import {
  eventually,
  seeCount,
  seeText,
  seeVisible,
  signInToConsole,
  startBrowser,
  type TestBrowser,
} from '../support/browser';

jest.setTimeout(180_000);

let s: Stack;
let b: TestBrowser;

beforeAll(async () => {
  // one attempt: a 500 fails the delivery at once
  s = await startStack(__filename, { worker: { DEVHOOKS_RETRY_SCHEDULE: '0' } });
  s.rx.respond = (r) => (r.path === '/fail' ? { status: 500, body: 'receiver broke' } : { status: 200, body: 'ok' });
  b = await startBrowser(s.api.base);
});

afterAll(async () => {
  await b?.close();
  await s?.close();
});

/** A link of the console's navigation. */
const nav = (name: string) =>
  b.page.getByRole('navigation', { name: 'Console sections' }).getByRole('link', { name, exact: true });

const signIn = (key: string) => signInToConsole(b.page, s.api.base, key);

/** Form controls of the page without an accessible name (a <label>, aria-label, or a button's text). */
function unlabeled(): Promise<string[]> {
  return b.page.evaluate(`[...document.querySelectorAll('input, select, textarea, button')]
    .filter((el) => !(el.labels?.length || el.getAttribute('aria-label') || (el.tagName === 'BUTTON' && el.textContent.trim())))
    .map((el) => el.outerHTML)`);
}

describe('the console', () => {
  it('signs in with an admin key and creates a webhook: API validation next to the field, the secret once', async () => {
    const { page } = b;
    await signIn(s.org.key);
    await page.getByRole('link', { name: 'New webhook' }).click();
    await page.getByLabel('Name').fill('Fleet receiver');
    await page.getByLabel('URL').fill('ftp://nope');
    await page.getByRole('button', { name: 'Create webhook' }).click();
    // the API's details land next to their fields: first the schema's (no topic), then the url's
    await seeText(page.locator('[data-field="topics"] .field-error'), /\S/);
    await page.getByLabel('deviceauth').check();
    await page.getByRole('button', { name: 'Create webhook' }).click();
    await seeText(page.locator('[data-field="url"] .field-error'), /\S/);
    await eventually(async () => expect(await page.getByLabel('URL').getAttribute('aria-invalid')).toBe('true'));
    await seeCount(page.locator('[data-field="topics"] .field-error:not(:empty)'), 0);

    await page.getByLabel('URL').fill(s.rx.url('/ok'));
    await page.getByLabel('alarms').check();
    await page.getByRole('button', { name: 'Create webhook' }).click();
    const secret = page.locator('.once-value');
    await seeText(secret, /^whsec_/);
    await seeVisible(page.getByRole('button', { name: 'Copy' }));
    const row = page.locator('tr', { hasText: 'Fleet receiver' });
    await seeText(row, 'deviceauth, alarms');
    await seeText(row, 'enabled');

    // shown once: gone after the page is left
    await nav('Activity').click();
    await nav('Webhooks').click();
    await seeVisible(page.locator('tr', { hasText: 'Fleet receiver' }));
    await seeCount(page.locator('.once-value'), 0);
  });

  it('pings a webhook and shows the result inline', async () => {
    const { page } = b;
    const row = page.locator('tr', { hasText: 'Fleet receiver' });
    await row.getByRole('button', { name: 'Ping' }).click();
    await seeText(row.locator('.row-result'), 'Ping succeeded: HTTP 200');
    expect(s.rx.on('/ok').length).toBeGreaterThanOrEqual(1);
  });

  it('disables, enables and edits a webhook', async () => {
    const { page } = b;
    const row = () => page.locator('tr', { hasText: 'Fleet receiver' });
    await row().getByRole('button', { name: 'Disable' }).click();
    await seeVisible(row().getByRole('button', { name: 'Enable' }));
    await seeText(row(), 'disabled');
    await row().getByRole('button', { name: 'Enable' }).click();
    await seeVisible(row().getByRole('button', { name: 'Disable' }));
    await row().getByRole('link', { name: 'Edit' }).click();
    await eventually(async () => expect(await page.getByLabel('Name').inputValue()).toBe('Fleet receiver'));
    expect(await unlabeled()).toEqual([]);
    await page.getByLabel('Site id').fill('site-7');
    await page.getByRole('button', { name: 'Save webhook' }).click();
    await seeText(row(), 'site site-7');
    const stored = (await s.api.call('GET', '/v1/webhooks', { token: s.org.key })).body.webhooks[0];
    expect(stored).toMatchObject({ name: 'Fleet receiver', site_id: 'site-7', enabled: true });
    // back to the whole org for the events below
    await row().getByRole('link', { name: 'Edit' }).click();
    await eventually(async () => expect(await page.getByLabel('Site id').inputValue()).toBe('site-7'));
    await page.getByLabel('Site id').fill('');
    await page.getByRole('button', { name: 'Save webhook' }).click();
    await seeText(row(), 'whole org');
  });

  it('works from the keyboard, with a visible focus and a label on every control', async () => {
    const { page } = b;
    expect(await unlabeled()).toEqual([]);
    // Tab from the top of the page to the navigation's Activity link
    await page.evaluate('document.activeElement?.blur()');
    for (let i = 0; i < 20; i++) {
      await page.keyboard.press('Tab');
      if ((await page.evaluate('document.activeElement?.getAttribute("data-page")')) === 'activity') break;
    }
    expect(await page.evaluate('document.activeElement?.getAttribute("data-page")')).toBe('activity');
    expect(await page.evaluate('getComputedStyle(document.activeElement).outlineStyle')).toBe('solid');
    await page.keyboard.press('Enter');
    await seeVisible(page.getByRole('heading', { name: 'Activity' }));
    expect(await unlabeled()).toEqual([]);
    await nav('Webhooks').focus();
    await page.keyboard.press('Enter');
    await seeVisible(page.locator('tr', { hasText: 'Fleet receiver' }));
  });

  it('sends a test event from the event types page and watches it arrive in Activity', async () => {
    const { page } = b;
    await s.webhook({ name: 'Broken receiver', url: s.rx.url('/fail'), topics: ['deviceauth'] });
    await nav('Event types').click();
    await page.getByLabel('Event type').selectOption('device-status-changed');
    await eventually(async () => expect(await page.getByLabel('Data (JSON)').inputValue()).toMatch(/"status"/));
    expect(await unlabeled()).toEqual([]);
    await b.screenshot('console-event-types');
    await page.getByRole('button', { name: 'Send event' }).click();
    await seeText(page.locator('form .row-result'), 'Accepted 1 event');
    await s.send({ events: [{ type: 'device-provisioned', data: { id: 'dev-7' } }] });

    await nav('Activity').click();
    // polling brings them in: 2 events × 2 webhooks + the ping
    await seeCount(page.locator('tbody tr[data-delivery-id]'), 5, 30_000);
    await seeCount(page.locator('tbody tr[data-status="succeeded"]'), 3, 30_000);
    await seeCount(page.locator('tbody tr[data-status="failed"]'), 2, 30_000);
    await b.screenshot('console-activity');

    // a filter is applied on the server
    await page.getByLabel('Status', { exact: true }).selectOption('failed');
    await page.getByRole('button', { name: 'Apply filters' }).click();
    await seeCount(page.locator('tbody tr[data-delivery-id]'), 2);
    await seeText(page.locator('.pager'), 'of 2');
  });

  it('opens a failed delivery: request, attempts, and retries it', async () => {
    const { page } = b;
    const before = s.rx.on('/fail').length;
    await page.locator('tbody tr[data-status="failed"] a').first().click();
    await seeVisible(page.getByRole('heading', { name: /^Delivery / }));
    await seeText(page.locator('table.headers').first(), 'webhook-id');
    await seeText(page.locator('table.headers').first(), '[redacted]');
    await seeText(page.locator('.attempt').first(), 'HTTP 500');
    await seeText(page.locator('.attempt').first(), 'receiver broke');
    await b.screenshot('console-delivery');
    await page.getByRole('button', { name: 'Retry delivery' }).click();
    await seeText(page.locator('.row-result'), 'Retry queued');
    await s.rx.waitOn('/fail', before + 1);
    await seeCount(page.locator('.attempt'), 2, 20_000);
    await seeText(page.locator('.attempt').nth(1), 'retried by hand');

    // the list's health: the last delivery and the last hour's success rate of each webhook
    await nav('Webhooks').click();
    await seeText(page.locator('tr', { hasText: 'Fleet receiver' }), '100 % of 3 in the last hour');
    await seeText(page.locator('tr', { hasText: 'Broken receiver' }), '0 % of 2 in the last hour');
    await b.screenshot('console-webhooks');
  });

  it('gives a viewer key a read-only console', async () => {
    const { page } = b;
    const viewer = await s.api.key(s.org.id, 'viewer', 'auditor');
    await page.getByRole('button', { name: 'Sign out' }).click();
    await signIn(viewer);
    await seeVisible(page.locator('tr', { hasText: 'Fleet receiver' }));
    await seeCount(page.getByRole('link', { name: 'New webhook' }), 0);
    await seeCount(page.getByRole('button', { name: 'Ping' }), 0);
    await seeCount(page.getByRole('button', { name: 'Delete' }), 0);
    await seeCount(nav('Keys'), 0);
    await nav('Activity').click();
    await seeVisible(page.locator('tbody tr[data-delivery-id]').first());
    await seeCount(page.getByRole('button', { name: 'Retry' }), 0);
    await nav('Event types').click();
    await seeCount(page.getByRole('button', { name: 'Send event' }), 0);
    await page.getByRole('button', { name: 'Sign out' }).click();
  });

  it('gives a producer key the event types and the test-event form only', async () => {
    const { page } = b;
    const producer = await s.api.key(s.org.id, 'producer', 'gateway');
    await signIn(producer);
    await seeVisible(page.getByRole('heading', { name: 'Event types' }));
    for (const name of ['Webhooks', 'Activity', 'Keys']) await seeCount(nav(name), 0);
    const before = (await s.api.call('GET', '/v1/deliveries', { token: s.org.key })).body.total;
    await page.getByRole('button', { name: 'Send event' }).click();
    await seeText(page.locator('form .row-result'), 'Accepted 1 event');
    // device-provisioned goes to both deviceauth webhooks
    await eventually(async () =>
      expect((await s.api.call('GET', '/v1/deliveries', { token: s.org.key })).body.total).toBe(before + 2),
    );
    await page.getByRole('button', { name: 'Sign out' }).click();
  });

  it('manages keys (the new key shown once) and signs out when its own key is revoked', async () => {
    const { page } = b;
    const admin = await s.api.key(s.org.id, 'admin', 'console admin');
    await signIn(admin);
    await nav('Keys').click();
    expect(await unlabeled()).toEqual([]);
    await page.getByLabel('Name').fill('ci producer');
    await page.getByLabel('Role').selectOption('producer');
    await page.getByRole('button', { name: 'Create key' }).click();
    await seeText(page.locator('.once-value'), /\S{20,}/);
    const created = page.locator('tr', { hasText: 'ci producer' });
    await seeVisible(created);
    await created.getByRole('button', { name: 'Revoke' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Revoke key' }).click();
    await seeCount(page.locator('tr', { hasText: 'ci producer' }), 0);

    // another admin revokes the console's key: the next poll answers 401 and the console signs out
    await nav('Activity').click();
    const keys = await s.api.call('GET', `/v1/orgs/${s.org.id}/keys`);
    const mine = keys.body.keys.find((k: { name: string }) => k.name === 'console admin');
    expect((await s.api.call('DELETE', `/v1/orgs/${s.org.id}/keys/${mine.id}`)).status).toBe(204);
    await seeVisible(page.getByLabel('API key'), 20_000);
    await seeText(page.getByRole('alert'), 'no longer accepts this key');
    expect(await page.evaluate('sessionStorage.length')).toBe(0);
  });

  it('deletes a webhook after a confirmation', async () => {
    const { page } = b;
    await signIn(s.org.key);
    const row = page.locator('tr', { hasText: 'Broken receiver' });
    await row.getByRole('button', { name: 'Delete' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Cancel' }).click();
    await seeVisible(row);
    await row.getByRole('button', { name: 'Delete' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Delete webhook' }).click();
    await seeCount(page.locator('tr', { hasText: 'Broken receiver' }), 0);
    expect((await s.api.call('GET', '/v1/webhooks', { token: s.org.key })).body.total).toBe(1);
  });

  it('made no request to another origin', () => {
    expect(b.foreign).toEqual([]);
  });
});
