/**
 * Reading the delivery log over HTTP at a bounded cost (issue 13, defect 3): filtered pages read
 * only their records, `next` / `after` page on, bad cursors are refused, and the read pool's
 * limits come from the configuration.
 */
import { startTestApi, type TestApi } from '../../../test/support/api';
import { deliveryRecord } from '../../../test/support/delivery-records';
import { testPrefix } from '../../../test/support/redis';
import { detailsOf, expectError } from './helpers';

const prefix = testPrefix(__filename);
let api: TestApi;
let viewer: string;
let hook: string;
const ids: string[] = []; // failed alarms, newest first

beforeAll(async () => {
  api = await startTestApi(prefix, {
    DEVHOOKS_ALLOW_PRIVATE_TARGETS: 'true',
    DEVHOOKS_LOG_READ_CONCURRENCY: '2',
    DEVHOOKS_LOG_READ_QUEUE: '5',
    DEVHOOKS_LOG_READ_PER_KEY: '3',
  });
  const org = await api.org('reads', 'admin');
  viewer = await api.key(org.id, 'viewer');
  const w = await api.call('POST', '/v1/webhooks', {
    token: org.key,
    body: { name: 'w', url: 'http://127.0.0.1:9/in', topics: ['alarms', 'deviceauth'] },
  });
  hook = w.body.id;
  const t0 = Date.now() - 3_600_000;
  const records = Array.from({ length: 600 }, (_, i) =>
    deliveryRecord(t0 + i * 1000, hook, {
      org_id: org.id,
      status: i % 3 === 0 ? 'failed' : 'succeeded',
      status_code: i % 3 === 0 ? 500 : 200,
      topic: i % 2 ? 'alarms' : 'deviceauth',
    }),
  );
  await api.api.deps.deliveries.write(records, { created: true });
  ids.push(
    ...records
      .filter((r) => r.status === 'failed' && r.topic === 'alarms')
      .reverse()
      .map((r) => r.id),
  );
});
afterAll(() => api.close());

it('configures the read pool from the environment', () => {
  expect(api.config.logReads).toEqual({ concurrency: 2, queue: 5, perCaller: 3 });
});

it('a filtered page reads only its own records, and `next` pages on to the end', async () => {
  const log = api.api.deps.deliveries;
  const seen: string[] = [];
  let after: string | undefined;
  let pages = 0;
  do {
    const before = log.stats.recordsRead;
    const q = `status=failed&topic=alarms&limit=40${after ? `&after=${after}` : ''}`;
    const r = await api.call('GET', `/v1/webhooks/${hook}/deliveries?${q}`, { token: viewer });
    expect(r.status).toBe(200);
    expect(log.stats.recordsRead - before).toBeLessThanOrEqual(40);
    expect(r.body.truncated).toBeUndefined();
    if (!after) expect(r.body.total).toBe(ids.length);
    seen.push(...r.body.deliveries.map((d: { id: string }) => d.id));
    after = r.body.next;
    pages++;
  } while (after && pages < 10);
  expect(seen).toEqual(ids);
  expect(pages).toBe(3); // 100 matches, 40 a page
});

it('refuses a cursor that is no delivery id, naming it', async () => {
  const r = await api.call('GET', `/v1/webhooks/${hook}/deliveries?after=nope`, { token: viewer });
  expectError(r, 400, 'invalid_request');
  expect(detailsOf(r).map((d) => d.path)).toEqual(['/after']);
});
