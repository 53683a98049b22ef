/**
 * The delivery log's indexes over a real Redis (issue 13, defect 3): a filtered page on 10,000
 * records reads only its page, a scan is capped and resumable, the log stays within its bound
 * after bursts (indexes included), and the org-wide listing.
 */
import type { Redis } from 'ioredis';
import { deliveryId, type DeliveryTopic } from '@devhooks/core';
import { deliveryRecord as rec } from '../../../../test/support/delivery-records';
import { redisForFile, testRedis } from '../../../../test/support/redis';
import { DeliveryLog, type DeliveryRecord, type DeliveryStatus } from './delivery-log';
import { backfillDeliveryIndexes } from './delivery-log-backfill';

const file = redisForFile(__filename);
const keys = file.keys;
const DAY = 86_400_000;
let redis: Redis;
beforeAll(() => {
  redis = file.redis();
});

let seq = 0;
const webhook = () => `wh_${(++seq).toString().padStart(20, '0')}`;
const ids = (rs: DeliveryRecord[]) => rs.map((r) => r.id);
const page = (offset: number, limit: number, after?: string) => ({ offset, limit, after });

describe('a webhook with 10,000 deliveries', () => {
  const w = webhook();
  const log = new DeliveryLog(testRedis(), keys, { ttlMs: 7 * DAY, maxPerWebhook: 10_000 });
  const all: DeliveryRecord[] = []; // oldest first
  const topics: DeliveryTopic[] = ['deviceauth', 'alarms', 'inventory'];
  const start = Date.now() - 2 * 3_600_000;

  beforeAll(async () => {
    for (let i = 0; i < 10_000; i++) {
      const failed = i % 10 === 3;
      all.push(
        rec(start + i * 500, w, {
          status: failed ? 'failed' : i % 10 === 7 ? 'pending' : 'succeeded',
          status_code: failed ? 503 : i % 10 === 7 ? null : 200,
          topic: topics[i % 3],
        }),
      );
    }
    for (let i = 0; i < all.length; i += 500) await log.write(all.slice(i, i + 500), { created: true });
  });
  afterAll(() => (log as unknown as { redis: Redis }).redis.disconnect());

  const newest = (match: (r: DeliveryRecord) => boolean) => [...all].reverse().filter(match);

  it.each<[string, Parameters<DeliveryLog['list']>[1], (r: DeliveryRecord) => boolean]>([
    ['status=failed', { status: 'failed' }, (r) => r.status === 'failed'],
    // no facet of its own: the index minus the pending and failed facets
    ['status=succeeded', { status: 'succeeded' }, (r) => r.status === 'succeeded'],
    ['topic=alarms', { topic: 'alarms' }, (r) => r.topic === 'alarms'],
    ['status_code=503', { status_code: 503 }, (r) => r.status_code === 503],
    [
      'status=failed&topic=alarms',
      { status: 'failed', topic: 'alarms' },
      (r) => r.status === 'failed' && r.topic === 'alarms',
    ],
    [
      'all three',
      { status: 'failed', topic: 'inventory', status_code: 503 },
      (r) => r.status === 'failed' && r.topic === 'inventory',
    ],
  ])('%s: exact total, the right page, and only the page’s records read', async (_n, filter, match) => {
    const expected = newest(match);
    const before = { ...log.stats };
    const r = await log.list(w, filter, page(20, 50));
    expect(r.total).toBe(expected.length);
    expect(r.truncated).toBe(false);
    expect(ids(r.deliveries)).toEqual(ids(expected.slice(20, 70)));
    expect(log.stats.recordsRead - before.recordsRead).toBeLessThanOrEqual(50);
    expect(log.stats.indexEntriesScanned - before.indexEntriesScanned).toBeLessThanOrEqual(10_000);
    expect(r.next).toBe(expected[69].id);
  });

  it('status=succeeded walks only until its page is full, and goes on from `next`', async () => {
    const expected = newest((r) => r.status === 'succeeded');
    const before = log.stats.indexEntriesScanned;
    const first = await log.list(w, { status: 'succeeded' }, page(20, 50));
    // 70 of the 80 % succeeded: one chunk of the index, not all 10,000 entries
    expect(log.stats.indexEntriesScanned - before).toBeLessThanOrEqual(500);
    const more = await log.list(w, { status: 'succeeded' }, page(0, 50, first.next));
    expect(ids(more.deliveries)).toEqual(ids(expected.slice(70, 120)));
  });

  it('a time window is a score range of the facet', async () => {
    const since = start + 1000 * 500;
    const until = start + 1999 * 500;
    const expected = newest(
      (r) => r.status === 'failed' && Date.parse(r.created_at) >= since && Date.parse(r.created_at) <= until,
    );
    const before = log.stats.recordsRead;
    const r = await log.list(w, { status: 'failed', since, until }, page(0, 200));
    expect(r.total).toBe(100);
    expect(ids(r.deliveries)).toEqual(ids(expected));
    expect(log.stats.recordsRead - before).toBe(100);
  });

  it('`next` resumes just past the page: paging by cursor equals paging by offset', async () => {
    const expected = ids(newest((r) => r.status === 'failed'));
    const seen: string[] = [];
    let after: string | undefined;
    do {
      const r = await log.list(w, { status: 'failed' }, page(0, 200, after));
      seen.push(...ids(r.deliveries));
      after = r.next;
    } while (after);
    expect(seen).toEqual(expected);
  });

  it('caps the walk: truncated, a lower-bound total, and a `next` that goes on', async () => {
    const capped = new DeliveryLog(redis, keys, { ttlMs: 7 * DAY, maxPerWebhook: 10_000, scanIndexEntries: 300 });
    const filter = { status: 'failed' as DeliveryStatus, topic: 'alarms' };
    const expected = ids(newest((r) => r.status === 'failed' && r.topic === 'alarms'));
    const seen: string[] = [];
    let after: string | undefined;
    let calls = 0;
    do {
      const before = capped.stats.indexEntriesScanned;
      const r = await capped.list(w, filter, page(0, 500, after));
      expect(capped.stats.indexEntriesScanned - before).toBeLessThanOrEqual(300);
      if (r.next) {
        expect(r.truncated).toBe(true);
        expect(r.total).toBe(r.deliveries.length);
      }
      seen.push(...ids(r.deliveries));
      after = r.next;
      calls++;
    } while (after && calls < 100);
    expect(seen).toEqual(expected);
    expect(calls).toBeGreaterThan(1);
  });
});

describe('the bound', () => {
  it('holds after concurrent bursts: index, facets, org index and records', async () => {
    const max = 1_000;
    const log = new DeliveryLog(redis, keys, { ttlMs: 7 * DAY, maxPerWebhook: max });
    const w = webhook();
    const org = 'org_burst';
    const t0 = Date.now() - 3_600_000;
    const batches = Array.from({ length: 30 }, (_, b) =>
      Array.from({ length: 110 }, (_, i) => {
        const n = b * 110 + i;
        return rec(t0 + n, w, { org_id: org, status: n % 2 ? 'failed' : 'succeeded', status_code: n % 2 ? 500 : 200 });
      }),
    );
    await Promise.all(batches.map((b) => log.write(b, { created: true })));
    const index = keys.webhookDeliveries(w);
    expect(await redis.zcard(index)).toBe(max);
    const f = (facet: 'status' | 'code', v: string) => redis.zcard(keys.webhookDeliveryFacet(w, facet, v));
    // facets for the exceptions only: failed and 500 have one, succeeded and 200 are the rest
    expect(await f('status', 'failed')).toBe(max / 2);
    expect(await f('code', '500')).toBe(max / 2);
    expect(await redis.exists(keys.webhookDeliveryFacet(w, 'status', 'succeeded'))).toBe(0);
    expect(await redis.exists(keys.webhookDeliveryFacet(w, 'code', '200'))).toBe(0);
    expect((await log.list(w, { status: 'succeeded' }, page(0, 1))).total).toBe(max / 2);
    expect((await log.list(w, { status_code: 200 }, page(0, 1))).total).toBe(max / 2);
    expect(await redis.zcard(keys.orgDeliveries(org))).toBe(max);
    expect((await log.list(w, {}, page(0, 1))).total).toBe(max);
    expect((await log.list(w, { status: 'failed' }, page(0, 1))).total).toBe(max / 2);
    // every record still there is indexed; the dropped ones are gone
    const kept = await redis.zrange(index, 0, -1);
    const everyId = batches.flat().map((r) => r.id);
    const exists = await log.exist(everyId);
    expect(exists.filter(Boolean)).toHaveLength(max);
    expect(new Set(kept)).toEqual(new Set(everyId.filter((_, i) => exists[i])));
  });

  it('cuts exactly at the bound when many records share the oldest creation time', async () => {
    const log = new DeliveryLog(redis, keys, { ttlMs: 7 * DAY, maxPerWebhook: 10 });
    const w = webhook();
    const t = Date.now() - 60_000;
    // 15 deliveries of entries accepted in the same ms (their ids, and so their scores, share it)
    const same = Array.from({ length: 15 }, (_, i) => ({
      ...rec(t, w, { status: i % 2 ? 'failed' : 'succeeded', status_code: i % 2 ? 500 : 200 }),
      id: deliveryId(`${t}-${i}`, w),
    }));
    await log.write(same, { created: true });
    const newer = Array.from({ length: 5 }, (_, i) => rec(t + 10 + i, w, { status: 'succeeded', status_code: 200 }));
    await log.write(newer, { created: true });
    const index = keys.webhookDeliveries(w);
    const kept = await redis.zrange(index, 0, -1);
    expect(kept).toHaveLength(10);
    expect(kept.slice(-5)).toEqual(newer.map((r) => r.id).sort());
    // facets hold exactly what the index holds, and every kept id has its record
    const f = (facet: 'status' | 'code', v: string) => redis.zrange(keys.webhookDeliveryFacet(w, facet, v), 0, -1);
    const succeeded = (await log.list(w, { status: 'succeeded' }, page(0, 100))).deliveries.map((d) => d.id);
    expect([...(await f('status', 'failed')), ...succeeded].sort()).toEqual([...kept].sort());
    const ok = (await log.list(w, { status_code: 200 }, page(0, 100))).deliveries.map((d) => d.id);
    expect([...(await f('code', '500')), ...ok].sort()).toEqual([...kept].sort());
    expect((await log.exist(kept)).every(Boolean)).toBe(true);
    expect((await log.exist(same.map((r) => r.id))).filter(Boolean)).toHaveLength(5);
  });

  it('never drops a pending record (its retry reads it): the oldest settled ones go instead', async () => {
    const max = 100;
    const log = new DeliveryLog(redis, keys, { ttlMs: 7 * DAY, maxPerWebhook: max });
    const w = webhook();
    const t0 = Date.now() - 3_600_000;
    // the 30 oldest wait for a retry; 300 newer ones settled after them
    const waiting = Array.from({ length: 30 }, (_, i) => rec(t0 + i, w, { status: 'pending', status_code: 503 }));
    await log.write(waiting, { created: true });
    for (let b = 0; b < 3; b++) {
      const settled = Array.from({ length: 100 }, (_, i) =>
        rec(t0 + 1_000 + b * 100 + i, w, { status: i % 3 ? 'succeeded' : 'failed', status_code: i % 3 ? 200 : 500 }),
      );
      await log.write(settled, { created: true });
    }
    expect(await log.exist(waiting.map((r) => r.id))).toEqual(waiting.map(() => true));
    // the bound counts them: settled records are dropped down to it, the pending ones on top
    expect(await redis.zcard(keys.webhookDeliveries(w))).toBe(max);
    expect((await log.list(w, { status: 'pending' }, page(0, 1))).total).toBe(30);
    // once settled, they are the oldest: 30 new records push them out
    await log.write(
      waiting.map((r) => ({ ...r, status: 'succeeded' as const, status_code: 200 })),
      { created: false },
    );
    const newer = Array.from({ length: 30 }, (_, i) =>
      rec(t0 + 5_000 + i, w, { status: 'succeeded', status_code: 200 }),
    );
    await log.write(newer, { created: true });
    expect((await log.exist(waiting.map((r) => r.id))).filter(Boolean)).toHaveLength(0);
    expect(await redis.zcard(keys.webhookDeliveries(w))).toBe(max);
  });

  it('keeps facets exact as statuses and codes change', async () => {
    const log = new DeliveryLog(redis, keys, { ttlMs: 7 * DAY, maxPerWebhook: 100 });
    const w = webhook();
    const r = rec(Date.now() - 60_000, w, { status: 'pending', status_code: null, org_id: 'org_moves' });
    await log.write([r], { created: true });
    const count = async (filter: Parameters<DeliveryLog['list']>[1]) => (await log.list(w, filter, page(0, 10))).total;
    expect([await count({ status: 'pending' }), await count({ status_code: 503 })]).toEqual([1, 0]);
    await log.write([{ ...r, status: 'pending', status_code: 503, attempts: 2 }], { created: false });
    expect([await count({ status: 'pending' }), await count({ status_code: 503 })]).toEqual([1, 1]);
    await log.write([{ ...r, status: 'failed', status_code: 500, attempts: 3 }], { created: false });
    expect([await count({ status: 'pending' }), await count({ status: 'failed' })]).toEqual([0, 1]);
    expect([await count({ status_code: 503 }), await count({ status_code: 500 })]).toEqual([0, 1]);
    expect(await log.listOrg('org_moves', { status: 'pending' }, page(0, 10))).toMatchObject({ total: 0 });
    expect(await log.listOrg('org_moves', { status: 'failed' }, page(0, 10))).toMatchObject({ total: 1 });
  });
});

describe('listOrg', () => {
  it('lists every webhook of the org, newest first, with status from its facet and the rest checked', async () => {
    const log = new DeliveryLog(redis, keys, { ttlMs: 7 * DAY, maxPerWebhook: 1_000, scanRecords: 40 });
    const org = 'org_wide';
    const [w1, w2] = [webhook(), webhook()];
    const t0 = Date.now() - 600_000;
    const records = Array.from({ length: 120 }, (_, i) =>
      rec(t0 + i * 10, i % 2 ? w1 : w2, {
        org_id: org,
        status: i % 3 ? 'succeeded' : 'failed',
        topic: i % 4 ? 'deviceauth' : 'alarms',
      }),
    );
    await log.write(records, { created: true });
    await log.write([rec(t0 + 5, webhook(), { org_id: 'org_other' })], { created: true });
    const newest = [...records].reverse();
    const r = await log.listOrg(org, {}, page(0, 30));
    expect(r.total).toBe(120);
    expect(ids(r.deliveries)).toEqual(ids(newest.slice(0, 30)));
    const failed = await log.listOrg(org, { status: 'failed' }, page(0, 100));
    expect(ids(failed.deliveries)).toEqual(ids(newest.filter((x) => x.status === 'failed')));
    expect(failed.total).toBe(40);
    // topic has no org facet: checked on at most 40 records per call, then resumable
    const before = log.stats.recordsRead;
    const alarms = await log.listOrg(org, { topic: 'alarms' }, page(0, 100));
    expect(log.stats.recordsRead - before).toBeLessThanOrEqual(40);
    expect(alarms.truncated).toBe(true);
    const rest = await log.listOrg(org, { topic: 'alarms' }, page(0, 100, alarms.next));
    const more = await log.listOrg(org, { topic: 'alarms' }, page(0, 100, rest.next));
    expect(ids([...alarms.deliveries, ...rest.deliveries, ...more.deliveries])).toEqual(
      ids(newest.filter((x) => x.topic === 'alarms')),
    );
    expect(more.next).toBeUndefined();
  });
});

describe('backfillDeliveryIndexes', () => {
  it('indexes records written before the facets existed, once', async () => {
    const log = new DeliveryLog(redis, keys, { ttlMs: 7 * DAY, maxPerWebhook: 1_000 });
    const org = 'org_legacy';
    const w = webhook();
    await redis.hset(keys.orgs, org, JSON.stringify({ id: org, name: 'legacy' }));
    await redis.hset(keys.orgWebhooks(org), w, JSON.stringify({ id: w, org_id: org }));
    const t0 = Date.now() - 600_000;
    const records = Array.from({ length: 30 }, (_, i) =>
      rec(t0 + i, w, { org_id: org, status: i % 3 ? 'succeeded' : 'failed' }),
    );
    // as the previous version wrote them: the hourly hash and the bare index
    for (const r of records) {
      await redis.hset(keys.deliveries(Math.floor((t0 + records.indexOf(r)) / 3_600_000)), r.id, JSON.stringify(r));
      await redis.zadd(keys.webhookDeliveries(w), Date.parse(r.created_at), r.id);
    }
    expect((await log.list(w, { status: 'failed' }, page(0, 50))).total).toBe(0);
    expect(await backfillDeliveryIndexes(redis, keys, log)).toBe(30);
    const failed = await log.list(w, { status: 'failed' }, page(0, 50));
    expect(ids(failed.deliveries)).toEqual(ids([...records].reverse().filter((r) => r.status === 'failed')));
    expect((await log.listOrg(org, {}, page(0, 50))).total).toBe(30);
    expect(await backfillDeliveryIndexes(redis, keys, log)).toBe(0);
  });
});
