/**
 * Filtered pages of the delivery log, looked at inside Redis: only a record's own status, topic and
 * status code count (not an attempt's, not a header or a url that holds the same text), across
 * chunks, with totals and pages that agree with a plain filter in JavaScript.
 */
import type { Redis } from 'ioredis';
import { deliveryId, redisKeys } from '@devhooks/core';
import { cleanPrefix, testPrefix, testRedis } from '../../../../test/support/redis';
import { DeliveryLog, type DeliveryRecord, type DeliveryStatus } from './delivery-log';
import { FILTER_CHUNK, filterLogPage } from './log-filter';
import { listOrgDeliveries } from './org-delivery-log';

const prefix = testPrefix(__filename);
const keys = redisKeys(prefix);
let redis: Redis;
let log: DeliveryLog;

beforeAll(() => {
  redis = testRedis();
  log = new DeliveryLog(redis, keys, { ttlMs: 86_400_000, maxPerWebhook: 100_000 });
});
afterAll(async () => {
  await cleanPrefix(prefix);
  redis.disconnect();
});

// some hours ago, inside the log's TTL (a record older than it is expired at once)
const T0 = Math.floor(Date.now() / 1000) * 1000 - 6 * 3_600_000;

function rec(n: number, webhookId: string, status: DeliveryStatus, code: number | null): DeliveryRecord {
  const ms = T0 + n * 1000;
  const at = new Date(ms).toISOString();
  return {
    id: deliveryId(`${ms}-${n}`, webhookId),
    org_id: 'org_1',
    webhook_id: webhookId,
    event_ids: [`evt-${n}`],
    entry_ids: [`${ms}-${n}`],
    topic: n % 3 === 0 ? 'alarms' : 'deviceauth',
    message_id: `evt-${n}`,
    // text that looks like a field, inside strings: JSON escapes its quotes
    url: `http://127.0.0.1/hook?"status":"failed"&"topic":"alarms"`,
    status,
    attempts: 1,
    status_code: code,
    error: null,
    created_at: at,
    updated_at: at,
    next_attempt_at: null,
    attempt_log: [
      {
        at,
        // an attempt's own status code, and a response header named like the record's fields
        status_code: 5000 + n,
        duration_ms: 3,
        error: null,
        response_headers: { status: 'failed', topic: 'alarms', status_code: '500' },
        response_body: '{"status":"failed","topic":"alarms","status_code":500}',
      },
    ],
  };
}

const plain = (all: DeliveryRecord[], f: { status?: string; topic?: string; status_code?: number }) =>
  all.filter(
    (r) =>
      (f.status === undefined || r.status === f.status) &&
      (f.topic === undefined || r.topic === f.topic) &&
      (f.status_code === undefined || r.status_code === f.status_code),
  );

describe('filterLogPage', () => {
  const wh = 'wh_filter000000000001';
  const n = FILTER_CHUNK * 2 + 37; // three chunks
  const all: DeliveryRecord[] = [];

  beforeAll(async () => {
    for (let i = 0; i < n; i++) {
      const status: DeliveryStatus = i % 7 === 0 ? 'failed' : i % 11 === 0 ? 'pending' : 'succeeded';
      all.push(rec(i, wh, status, status === 'pending' ? null : status === 'failed' ? (i % 2 ? 500 : 50) : 200));
    }
    await log.write(all, true);
    all.reverse(); // newest first, as the index gives them
  });

  it.each([
    [{ status: 'failed' as const }],
    [{ status: 'pending' as const }],
    [{ topic: 'alarms' }],
    [{ status_code: 500 }],
    [{ status_code: 50 }],
    [{ status: 'failed' as const, topic: 'alarms', status_code: 500 }],
  ])('matches a record by its own fields only: %j', async (filter) => {
    const want = plain(all, filter);
    const got = await filterLogPage(
      redis,
      keys,
      all.map((r) => r.id),
      filter,
      0,
      50,
    );
    expect(got.total).toBe(want.length);
    expect(got.ids).toEqual(want.slice(0, 50).map((r) => r.id));
  });

  it('pages across chunk boundaries without gaps or repeats', async () => {
    const want = plain(all, { status: 'succeeded' }).map((r) => r.id);
    const ids = all.map((r) => r.id);
    const pages: string[] = [];
    for (let offset = 0; offset < want.length; offset += 200) {
      const page = await filterLogPage(redis, keys, ids, { status: 'succeeded' }, offset, 200);
      expect(page.total).toBe(want.length);
      pages.push(...page.ids);
    }
    expect(pages).toEqual(want);
  });

  it('skips ids with no record, and ids that are not delivery ids', async () => {
    const gone = deliveryId(`${T0 - 5000}-0`, wh);
    const got = await filterLogPage(redis, keys, [gone, 'not-an-id', all[0].id], { status: all[0].status }, 0, 10);
    expect(got).toEqual({ total: 1, ids: [all[0].id] });
  });
});

describe('listOrgDeliveries', () => {
  it("merges the org's webhooks newest first, filtered or not", async () => {
    const hooks = ['wh_orglist00000000001', 'wh_orglist00000000002', 'wh_orglist00000000003'];
    const records = hooks.flatMap((w, k) =>
      Array.from({ length: 40 }, (_, i) => rec(10_000 + i * 3 + k, w, i % 4 === 0 ? 'failed' : 'succeeded', 200)),
    );
    await log.write(records, true);
    const newest = [...records].sort((a, b) => b.created_at.localeCompare(a.created_at));
    const page = await listOrgDeliveries(redis, keys, log, hooks, {}, 10, 25);
    expect(page.total).toBe(120);
    expect(page.deliveries.map((r) => r.id)).toEqual(newest.slice(10, 35).map((r) => r.id));
    const failed = await listOrgDeliveries(redis, keys, log, hooks, { status: 'failed' }, 5, 10);
    const want = newest.filter((r) => r.status === 'failed');
    expect(failed.total).toBe(want.length);
    expect(failed.deliveries.map((r) => r.id)).toEqual(want.slice(5, 15).map((r) => r.id));
    const since = Date.parse(newest[9].created_at);
    expect((await listOrgDeliveries(redis, keys, log, hooks, { since }, 0, 50)).total).toBe(10);
    expect(await listOrgDeliveries(redis, keys, log, [], {}, 0, 50)).toEqual({ total: 0, deliveries: [] });
  });
});
