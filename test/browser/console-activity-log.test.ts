/**
 * The console's Activity page on a delivery log of 100,000 records, in a real Chromium against the
 * real API and worker on real Redis: the newest page, a status filter and "Older" render the right
 * rows; and an org-wide topic filter (the org's log has no topic index: the API checks at most
 * 1,000 records a request and answers `truncated` with a cursor) lets the user search on past the
 * first records checked and page through the matches beyond them.
 *
 * The records are written straight through the engine's delivery-log store (its write script, in
 * pipelines of 10,000), not by delivering 100,000 requests.
 */
import { DeliveryLog, type DeliveryRecord } from '@devhooks/engine';
import { deliveryRecord } from '../support/delivery-records';
import { startStack, type Stack } from '../support/stack';
import { eventually, seeCount, seeText, signInToConsole, startBrowser, type TestBrowser } from '../support/browser';

jest.setTimeout(300_000);

const RECORDS = 100_000;
const WEBHOOKS = 20; // 5,000 records each: under the default bound of 10,000 per webhook
/** Every 50th record failed (2,000 in all). */
const failed = (i: number) => i % 50 === 7;
/** The org-wide topic filter's matches: only past the newest 2,500 records (beyond 2 reads' bound). */
const alarm = (i: number) => i >= 2_500 && i % 7 === 0;

let s: Stack;
let b: TestBrowser;
/** Record ids, newest first. */
const ids: string[] = [];
let seedMs = 0;

beforeAll(async () => {
  s = await startStack(__filename);
  const hooks: string[] = [];
  for (let w = 0; w < WEBHOOKS; w++) {
    const hook = await s.webhook({ name: `Hook ${w}`, url: s.rx.url(`/h${w}`), topics: ['deviceauth', 'alarms'] });
    hooks.push(hook.id);
  }
  // the store as the worker builds it (default TTL and bound), over the test file's prefix
  const log = new DeliveryLog(s.redis, s.keys, { ttlMs: 7 * 86_400_000, maxPerWebhook: 10_000 });
  const newest = Date.now() - 60_000;
  const started = Date.now();
  for (let from = 0; from < RECORDS; from += 10_000) {
    const batch: DeliveryRecord[] = [];
    for (let i = from; i < from + 10_000; i++) {
      const rec = deliveryRecord(newest - i * 1000, hooks[i % WEBHOOKS], {
        org_id: s.org.id,
        status: failed(i) ? 'failed' : 'succeeded',
        status_code: failed(i) ? 500 : 200,
        error: failed(i) ? 'http_500' : null,
        topic: alarm(i) ? 'alarms' : 'deviceauth',
      });
      batch.push(rec);
      ids.push(rec.id);
    }
    await log.write(batch, { created: true });
  }
  seedMs = Date.now() - started;
  b = await startBrowser(s.api.base);
  await signInToConsole(b.page, s.api.base, s.org.key);
});

afterAll(async () => {
  // how long the seeding took, for the record (not asserted)
  if (seedMs) process.stdout.write(`seeded ${RECORDS} delivery-log records in ${seedMs} ms\n`);
  await b?.close();
  await s?.close();
});

const rowIds = () =>
  b.page
    .locator('tbody tr[data-delivery-id]')
    .evaluateAll((rows) => rows.map((r) => r.getAttribute('data-delivery-id')));

async function filterBy(label: string, value: string) {
  await b.page.getByLabel(label, { exact: true }).selectOption(value);
  await b.page.getByRole('button', { name: 'Apply filters' }).click();
}

describe('Activity on a log of 100,000 deliveries', () => {
  it('holds the 100,000 records in the org log the API reads', async () => {
    const r = await s.api.call('GET', '/v1/deliveries?limit=1', { token: s.org.key });
    expect(r.body.total).toBe(RECORDS);
    expect(r.body.deliveries[0].id).toBe(ids[0]);
  });

  it('shows the newest page first, then the next one with "Older"', async () => {
    const { page } = b;
    await page.goto(`${s.api.base}/console#/activity`);
    await seeCount(page.locator('tbody tr[data-delivery-id]'), 50, 30_000);
    expect(await rowIds()).toEqual(ids.slice(0, 50));
    await seeText(page.locator('.pager'), '1–50 of 100,000');

    await page.locator('.pager').getByRole('button', { name: 'Older' }).click();
    await eventually(async () => expect(await rowIds()).toEqual(ids.slice(50, 100)));
    await seeText(page.locator('.pager'), '51–100 of 100,000');
    await page.locator('.pager').getByRole('button', { name: 'Newer' }).click();
    await eventually(async () => expect(await rowIds()).toEqual(ids.slice(0, 50)));
  });

  it('filters by status on the server: the newest failed deliveries, all of them failed', async () => {
    const { page } = b;
    await filterBy('Status', 'failed');
    const newestFailed = ids.filter((_, i) => failed(i)).slice(0, 50);
    await eventually(async () => expect(await rowIds()).toEqual(newestFailed), 30_000);
    await seeCount(page.locator('tbody tr[data-status="failed"]'), 50);
    await seeText(page.locator('.pager'), '1–50 of 2,000');
    // each row shows its record: the failed status code
    await seeText(page.locator('tbody tr[data-delivery-id]').first(), '500');
  });
});

describe('Activity, a filtered org-wide read the API stops after its bound of records', () => {
  /** The records of the topic filter, newest first (filled once the ids exist). */
  const alarms: string[] = [];
  beforeAll(() => {
    alarms.push(...ids.filter((_, i) => alarm(i)));
  });

  it('says the search stopped, and "Search further" goes on until matches are found', async () => {
    const { page } = b;
    await page.goto(`${s.api.base}/console#/activity`);
    await seeCount(page.locator('tbody tr[data-delivery-id]'), 50, 30_000);
    await filterBy('Topic', 'alarms');
    // the newest 1,000 records checked: no alarm among them, and the API said `truncated`
    await seeText(page.locator('tbody'), 'No matches among the records searched so far.', 30_000);
    await seeText(page.locator('.pager'), 'The search stopped at its limit of records checked');
    const further = page.locator('.pager').getByRole('button', { name: 'Search further' });
    const searching = page.locator('.pager').getByRole('button', { name: 'Searching…' });
    // records 1,000-1,999: still none
    await further.click();
    await seeCount(searching, 0, 30_000);
    expect(await rowIds()).toEqual([]);
    await seeText(page.locator('.pager'), '(0 matches found so far)');
    // 2,000-2,999 hold the first alarms (from the 2,500th on): more than a page of them
    await further.click();
    await eventually(async () => expect(await rowIds()).toEqual(alarms.slice(0, 50)), 30_000);
    await seeCount(page.locator('tbody tr[data-delivery-id]'), 50);
    expect(await page.locator('tbody tr[data-delivery-id] td:nth-child(3)').allTextContents()).toEqual(
      Array(50).fill('alarms'),
    );
  });

  it('pages on with "Older" to the matches beyond the first page, and back with "Newer"', async () => {
    const { page } = b;
    await page.locator('.pager').getByRole('button', { name: 'Older' }).click();
    await eventually(async () => expect(await rowIds()).toEqual(alarms.slice(50, 100)), 30_000);
    await seeText(page.locator('.pager'), '51–100; the search stopped');
    await page.locator('.pager').getByRole('button', { name: 'Older' }).click();
    await eventually(async () => expect(await rowIds()).toEqual(alarms.slice(100, 150)), 30_000);
    await page.locator('.pager').getByRole('button', { name: 'Newer' }).click();
    await eventually(async () => expect(await rowIds()).toEqual(alarms.slice(50, 100)), 30_000);
  });

  it('made no request to another origin', () => {
    expect(b.foreign).toEqual([]);
  });
});
