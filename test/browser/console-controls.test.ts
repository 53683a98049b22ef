/**
 * The console's delivery controls and event-type catalog (contract §9), in a real Chromium against
 * the real API and worker: rotate a webhook's secret (shown once; the receiver then verifies both
 * signatures), Recover since… and Replay since… from a webhook's Activity, and the catalog with its
 * topics; then the same controls through @devhooks/client. (That the client's routes, these
 * included, are the OpenAPI document's is checked in packages/client/src/routes.test.ts.)
 */
import { Webhook as StandardWebhook } from 'standardwebhooks';
import { countOf, DevhooksClient } from '@devhooks/client';
import { startStack, type Stack } from '../support/stack';
import { seeCount, seeText, seeVisible, signInToConsole, startBrowser, type TestBrowser } from '../support/browser';

jest.setTimeout(180_000);

let s: Stack;
let b: TestBrowser;
let client: DevhooksClient;
/** The receiver's answer to /flaky: 500 until the test fixes it. */
let flakyStatus = 500;

beforeAll(async () => {
  s = await startStack(__filename, { worker: { DEVHOOKS_RETRY_SCHEDULE: '0' } });
  s.rx.respond = (r) => (r.path === '/flaky' ? { status: flakyStatus, body: 'flaky' } : { status: 200, body: 'ok' });
  client = new DevhooksClient({ baseUrl: s.api.base, token: s.org.key });
  b = await startBrowser(s.api.base);
  await signInToConsole(b.page, s.api.base, s.org.key);
});

afterAll(async () => {
  await b?.close();
  await s?.close();
});

const nav = (name: string) =>
  b.page.getByRole('navigation', { name: 'Console sections' }).getByRole('link', { name, exact: true });

describe('the console, delivery controls (contract §9)', () => {
  it('rotates a secret: the new one shown once, then both signatures verify during the grace period', async () => {
    const { page } = b;
    const hook = await s.webhook({ name: 'Rotating', url: s.rx.url('/rot'), topics: ['deviceauth'] });
    await page.reload();
    await nav('Webhooks').click();
    const row = page.locator('tr', { hasText: 'Rotating' });
    await row.getByRole('button', { name: 'Rotate secret' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Rotate secret' }).click();
    await seeText(page.locator('.once-value'), /^whsec_/);
    const fresh = ((await page.locator('.once-value').textContent()) ?? '').trim();
    expect(fresh).not.toBe(hook.secret);
    await seeText(page.locator('.once'), 'The old secret keeps signing until');

    await s.send({ type: 'device-provisioned', data: { id: 'dev-rot' } });
    const [got] = await s.rx.waitOn('/rot', 1);
    expect(String(got.headers['webhook-signature']).split(' ')).toHaveLength(2);
    for (const secret of [fresh, hook.secret]) {
      expect(new StandardWebhook(secret).verify(got.body, got.headers as Record<string, string>)).toMatchObject({
        type: 'device-provisioned',
      });
    }
    // shown once: gone after the page is left
    await nav('Activity').click();
    await nav('Webhooks').click();
    await seeVisible(page.locator('tr', { hasText: 'Rotating' }));
    await seeCount(page.locator('.once-value'), 0);
  });

  it('recovers the failed deliveries of a window, then replays its events, from the Activity page', async () => {
    const { page } = b;
    // one event a request: each delivery's webhook-id is its event's id
    const hook = await s.webhook({
      name: 'Flaky',
      url: s.rx.url('/flaky'),
      topics: ['alarms'],
      single_event_per_message: true,
    });
    const sent = await s.send({
      events: [
        { type: 'alarm', data: { type: 'A', timestamp: 1 } },
        { type: 'alarm', data: { type: 'B', timestamp: 2 } },
      ],
    });
    await page.goto(`${s.api.base}/console#/activity?webhook=${hook.id}`);
    await seeCount(page.locator('tbody tr[data-status="failed"]'), 2, 30_000);
    flakyStatus = 200;
    const before = s.rx.on('/flaky').length;

    await page.getByRole('button', { name: 'Recover failed since…' }).click();
    await seeText(page.locator('.window-controls .row-result'), 'Recover: 2 failed deliveries retried now.');
    await s.rx.waitOn('/flaky', before + 2);
    await seeCount(page.locator('tbody tr[data-status="succeeded"]'), 2, 30_000);

    await page.getByRole('button', { name: 'Replay events since…' }).click();
    await seeText(page.locator('.window-controls .row-result'), 'Replay: 2 events queued again.');
    const all = await s.rx.waitOn('/flaky', before + 4);
    // a replay keeps the webhook-id of the first delivery (here: the event ids)
    const replayed = all.slice(before + 2).map((r) => r.headers['webhook-id']);
    expect(replayed.sort()).toEqual([...sent.ids].sort());
  });

  it('shows the event-type catalog with topics, schemas and examples', async () => {
    const { page } = b;
    await nav('Event types').click();
    await seeText(page.locator('#type-device-status-changed'), 'topic deviceauth');
    await seeText(page.locator('.type', { hasText: 'device-status-changed' }), 'Example');
    const types = await client.eventTypes.list();
    expect(types.map((t) => t.type)).toEqual(expect.arrayContaining(['device-status-changed', 'alarm', 'message']));
  });

  it('rotates, recovers and replays through the client', async () => {
    const hook = await client.webhooks.create({ name: 'api', url: s.rx.url('/api'), topics: ['messages'] });
    const rotated = await client.webhooks.rotateSecret(hook.id, { grace: '1h' });
    expect(rotated.secret).toMatch(/^whsec_/);
    expect(Date.parse(rotated.previous_expires_at!)).toBeGreaterThan(Date.now());
    const since = new Date(Date.now() - 60_000).toISOString();
    expect(countOf((await client.webhooks.recover(hook.id, { since })).deliveries)).toBe(0);
    await client.events.send({ type: 'message', data: { hello: 'world' } });
    await s.rx.waitOn('/api', 1);
    expect(countOf((await client.webhooks.replay(hook.id, { since, types: ['message'] })).events)).toBe(1);
    await s.rx.waitOn('/api', 2);
  });

  it('made no request to another origin', () => {
    expect(b.foreign).toEqual([]);
  });
});
