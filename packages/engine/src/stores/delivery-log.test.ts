/** The delivery log over a real Redis: hourly record hashes, the per-webhook index, listing and trimming. */
import IORedis, { type Redis } from 'ioredis';
import { deliveryId, redisKeys, type DeliveryTopic } from '@devhooks/core';
import { deliveryRecord } from '../../../../test/support/delivery-records';
import { cleanPrefix, testPrefix, testRedis } from '../../../../test/support/redis';
import { RedisServer } from '../../../../test/support/redis-server';
import { DeliveryLog, deliveryView, type DeliveryRecord, type DeliveryStatus } from './delivery-log';

const prefix = testPrefix(__filename);
const keys = redisKeys(prefix);
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
let redis: Redis;

beforeAll(() => {
  redis = testRedis();
});
afterAll(async () => {
  await cleanPrefix(prefix);
  redis.disconnect();
});

/** A fresh webhook id per call, so tests never see each other's deliveries. */
let whSeq = 0;
const webhook = () => `wh_${(++whSeq).toString().padStart(20, '0')}`;

const rec = deliveryRecord;

const store = (ttlMs = 7 * DAY, maxPerWebhook = 10_000) => new DeliveryLog(redis, keys, { ttlMs, maxPerWebhook });

/** The start of the current hour: records placed relative to it land in predictable hourly buckets. */
const hourStart = Math.floor(Date.now() / HOUR) * HOUR;

describe('write / get / getMany / exist', () => {
  it('round-trips records, filing each in the hash of the hour in its id', async () => {
    const s = store();
    const w = webhook();
    const records = [rec(hourStart - 3 * HOUR + 5, w), rec(hourStart - 3 * HOUR + 6, w), rec(hourStart - HOUR + 1, w)];
    await s.write(records, { created: true });
    for (const r of records) expect(await s.get(r.id)).toEqual(r);
    const hourA = (hourStart - 3 * HOUR) / HOUR;
    const hourB = (hourStart - HOUR) / HOUR;
    expect((await redis.hkeys(keys.deliveries(hourA))).sort()).toEqual([records[0].id, records[1].id].sort());
    expect(await redis.hkeys(keys.deliveries(hourB))).toEqual([records[2].id]);
    expect(JSON.parse((await redis.hget(keys.deliveries(hourB), records[2].id))!)).toEqual(records[2]);
  });

  it('each hour expires as a whole the log TTL after the hour ends; the index a little after the TTL', async () => {
    const s = store(2 * DAY);
    const w = webhook();
    const r = rec(hourStart - 2 * HOUR + 123, w);
    await s.write([r], { created: true });
    const hour = (hourStart - 2 * HOUR) / HOUR;
    expect(await redis.pexpiretime(keys.deliveries(hour))).toBe((hour + 1) * HOUR + 2 * DAY);
    const pttl = await redis.pttl(keys.webhookDeliveries(w));
    expect(pttl).toBeGreaterThan(2 * DAY);
    expect(pttl).toBeLessThanOrEqual(2 * DAY + HOUR);
  });

  it('getMany keeps the order, with undefined for unknown and malformed ids', async () => {
    const s = store();
    const w = webhook();
    const a = rec(hourStart - HOUR + 10, w);
    const b = rec(hourStart + 11, w);
    await s.write([a, b], { created: true });
    const unknown = deliveryId(`${hourStart + 12}-0`, w);
    expect(await s.getMany([b.id, unknown, 'not-a-delivery-id', a.id])).toEqual([b, undefined, undefined, a]);
    expect(await s.getMany([])).toEqual([]);
    expect(await s.get('dlv_zz')).toBeUndefined();
  });

  it('exist says which ids have a record', async () => {
    const s = store();
    const w = webhook();
    const a = rec(hourStart + 20, w);
    await s.write([a], { created: true });
    expect(await s.exist([a.id, deliveryId(`${hourStart + 21}-0`, w), 'garbage', ''])).toEqual([
      true,
      false,
      false,
      false,
    ]);
  });

  it('an update (isNew false) replaces the record without touching the index', async () => {
    const s = store();
    const w = webhook();
    const r = rec(hourStart + 30, w, { status: 'pending', status_code: null });
    await s.write([r], { created: true });
    const updated: DeliveryRecord = { ...r, status: 'failed', status_code: 500, attempts: 2, error: null };
    await s.write([updated], { created: false });
    expect(await s.get(r.id)).toEqual(updated);
    expect(await redis.zcard(keys.webhookDeliveries(w))).toBe(1);
    // a record written only as an update is not indexed
    const w2 = webhook();
    await s.write([rec(hourStart + 31, w2)], { created: false });
    expect(await redis.exists(keys.webhookDeliveries(w2))).toBe(0);
  });

  it('indexes new records by creation time, per webhook', async () => {
    const s = store();
    const w1 = webhook();
    const w2 = webhook();
    const a = rec(hourStart + 40, w1);
    const b = rec(hourStart + 41, w2);
    await s.write([a, b], { created: true });
    expect(await redis.zrange(keys.webhookDeliveries(w1), 0, -1, 'WITHSCORES')).toEqual([a.id, String(hourStart + 40)]);
    expect(await redis.zrange(keys.webhookDeliveries(w2), 0, -1, 'WITHSCORES')).toEqual([b.id, String(hourStart + 41)]);
  });

  it('writes when Redis lost its scripts (NOSCRIPT: a restarted or promoted node), on a server of its own', async () => {
    const server = await RedisServer.start();
    const own = new IORedis(server.url, { maxRetriesPerRequest: 3 });
    try {
      const log = new DeliveryLog(own, keys, { ttlMs: 7 * DAY, maxPerWebhook: 10_000 });
      const w = 'wh_noscript';
      await log.write([rec(Date.now() - 1_000, w)], { created: true });
      await own.script('FLUSH');
      const second = rec(Date.now() - 500, w);
      await log.write([second], { created: true });
      expect(await own.zrange(keys.webhookDeliveries(w), 0, -1)).toHaveLength(2);
      expect((await log.get(second.id))?.id).toBe(second.id);
    } finally {
      own.disconnect();
      await server.stop();
    }
  });

  it('writing nothing is a no-op', async () => {
    await expect(store().write([], { created: true })).resolves.toBeUndefined();
  });

  it('deliveryView drops the internal fields', () => {
    const r = rec(hourStart, 'wh_x');
    const v = deliveryView(r);
    expect(v).not.toHaveProperty('entry_ids');
    expect(v).not.toHaveProperty('attempt_log');
    expect(v).not.toHaveProperty('org_id');
    expect(v).toMatchObject({ id: r.id, webhook_id: 'wh_x', status: 'succeeded', attempts: 1 });
  });
});

describe('list', () => {
  const statuses: DeliveryStatus[] = ['succeeded', 'failed', 'pending'];
  const topics: DeliveryTopic[] = ['deviceauth', 'alarms'];
  const codes = [200, 500, null, 404];
  let w: string;
  let records: DeliveryRecord[]; // oldest first
  let s: DeliveryLog;
  const base = hourStart - 5 * HOUR;

  beforeAll(async () => {
    s = store();
    w = webhook();
    // 12 records, 30 minutes apart, across several hourly buckets
    records = Array.from({ length: 12 }, (_, i) =>
      rec(base + i * 30 * 60_000 + 7, w, { status: statuses[i % 3], topic: topics[i % 2], status_code: codes[i % 4] }),
    );
    await s.write(records.slice(0, 5), { created: true });
    await s.write(records.slice(5), { created: true });
    // another webhook's deliveries never show up
    await s.write([rec(base + 1, webhook()), rec(base + 2, webhook())], { created: true });
  });

  const newestFirst = () => [...records].reverse();
  const ids = (rs: DeliveryRecord[]) => rs.map((r) => r.id);

  it('lists newest first, with the total', async () => {
    const r = await s.list(w, {}, { offset: 0, limit: 100 });
    expect(r.total).toBe(12);
    expect(ids(r.deliveries)).toEqual(ids(newestFirst()));
    expect(r.deliveries[0]).toEqual(records[11]);
  });

  it('pages with offset and limit', async () => {
    const all = ids(newestFirst());
    const p1 = await s.list(w, {}, { offset: 0, limit: 5 });
    const p2 = await s.list(w, {}, { offset: 5, limit: 5 });
    const p3 = await s.list(w, {}, { offset: 10, limit: 5 });
    expect([p1.total, p2.total, p3.total]).toEqual([12, 12, 12]);
    expect(ids(p1.deliveries)).toEqual(all.slice(0, 5));
    expect(ids(p2.deliveries)).toEqual(all.slice(5, 10));
    expect(ids(p3.deliveries)).toEqual(all.slice(10));
    expect((await s.list(w, {}, { offset: 12, limit: 5 })).deliveries).toEqual([]);
  });

  it('a webhook without deliveries lists nothing', async () => {
    const page = { offset: 0, limit: 10 };
    const none = { total: 0, deliveries: [], truncated: false };
    expect(await s.list(webhook(), {}, page)).toMatchObject(none);
    expect(await s.list(webhook(), { status: 'failed' }, page)).toMatchObject(none);
  });

  it.each<[string, Parameters<DeliveryLog['list']>[1], (r: DeliveryRecord) => boolean]>([
    ['status=failed', { status: 'failed' }, (r) => r.status === 'failed'],
    ['status=pending', { status: 'pending' }, (r) => r.status === 'pending'],
    ['topic=alarms', { topic: 'alarms' }, (r) => r.topic === 'alarms'],
    ['status_code=500', { status_code: 500 }, (r) => r.status_code === 500],
    ['status_code=404', { status_code: 404 }, (r) => r.status_code === 404],
    [
      'status=succeeded & topic=deviceauth',
      { status: 'succeeded', topic: 'deviceauth' },
      (r) => r.status === 'succeeded' && r.topic === 'deviceauth',
    ],
    ['topic=messages (none)', { topic: 'messages' }, () => false],
  ])('filters on %s with the right total', async (_name, filter, match) => {
    const expected = newestFirst().filter(match);
    const r = await s.list(w, filter, { offset: 0, limit: 100 });
    expect(r.total).toBe(expected.length);
    expect(ids(r.deliveries)).toEqual(ids(expected));
  });

  it('pages the filtered list, the total counting every match', async () => {
    const expected = ids(newestFirst().filter((r) => r.topic === 'deviceauth')); // 6
    const p1 = await s.list(w, { topic: 'deviceauth' }, { offset: 0, limit: 4 });
    const p2 = await s.list(w, { topic: 'deviceauth' }, { offset: 4, limit: 4 });
    expect(p1.total).toBe(6);
    expect(p2.total).toBe(6);
    expect(ids(p1.deliveries)).toEqual(expected.slice(0, 4));
    expect(ids(p2.deliveries)).toEqual(expected.slice(4));
  });

  it('since / until are inclusive bounds on created_at', async () => {
    const t = (i: number) => Date.parse(records[i].created_at);
    const r = await s.list(w, { since: t(3), until: t(7) }, { offset: 0, limit: 100 });
    expect(r.total).toBe(5);
    expect(ids(r.deliveries)).toEqual(ids(records.slice(3, 8).reverse()));
    expect((await s.list(w, { since: t(10) }, { offset: 0, limit: 100 })).total).toBe(2);
    expect((await s.list(w, { until: t(0) }, { offset: 0, limit: 100 })).total).toBe(1);
    expect((await s.list(w, { since: t(11) + 1 }, { offset: 0, limit: 100 })).total).toBe(0);
  });

  it('combines since / until with the other filters', async () => {
    const t = (i: number) => Date.parse(records[i].created_at);
    const expected = records
      .slice(2, 10)
      .filter((r) => r.status === 'failed')
      .reverse();
    const r = await s.list(w, { since: t(2), until: t(9), status: 'failed' }, { offset: 0, limit: 100 });
    expect(r.total).toBe(expected.length);
    expect(ids(r.deliveries)).toEqual(ids(expected));
  });

  it('sees updates of mutable fields', async () => {
    const w2 = webhook();
    const r = rec(hourStart + 50, w2, { status: 'pending', status_code: null });
    await s.write([r], { created: true });
    expect((await s.list(w2, { status: 'pending' }, { offset: 0, limit: 10 })).total).toBe(1);
    await s.write([{ ...r, status: 'succeeded', status_code: 204 }], { created: false });
    expect((await s.list(w2, { status: 'pending' }, { offset: 0, limit: 10 })).total).toBe(0);
    expect(ids((await s.list(w2, { status_code: 204 }, { offset: 0, limit: 10 })).deliveries)).toEqual([r.id]);
  });
});

describe('trim', () => {
  it('keeps at most maxPerWebhook, dropping the oldest from the index and their hashes', async () => {
    const s = store(7 * DAY, 5);
    const w = webhook();
    const records = Array.from({ length: 8 }, (_, i) => rec(hourStart - 3 * HOUR + i * 20 * 60_000, w));
    await store().write(records, { created: true }); // (a write trims too: see below)
    expect(await s.trim(w)).toBe(3);
    expect(await redis.zrange(keys.webhookDeliveries(w), 0, -1)).toEqual(records.slice(3).map((r) => r.id));
    expect(await s.exist(records.map((r) => r.id))).toEqual([false, false, false, true, true, true, true, true]);
    expect(await s.trim(w)).toBe(0);
    const listed = await s.list(w, {}, { offset: 0, limit: 100 });
    expect(listed.total).toBe(5);
  });

  it('drops records older than the TTL (before `now`), index and hash', async () => {
    const s = store(DAY, 1_000);
    const w = webhook();
    const base = hourStart - 4 * HOUR;
    const records = [0, 1, 2, 3].map((h) => rec(base + h * HOUR + 1, w));
    await s.write(records, { created: true });
    // as seen a day later: the first two are past the TTL, the third is exactly at its edge (kept)
    const now = base + 2 * HOUR + 1 + DAY;
    expect(await s.trim(w, now)).toBe(2);
    expect(await redis.zrange(keys.webhookDeliveries(w), 0, -1)).toEqual([records[2].id, records[3].id]);
    expect(await s.exist(records.map((r) => r.id))).toEqual([false, false, true, true]);
    expect(await s.get(records[0].id)).toBeUndefined();
    expect(await s.get(records[2].id)).toEqual(records[2]);
  });

  it('applies both bounds in one run', async () => {
    const s = store(DAY, 2);
    const w = webhook();
    const records = [0, 1, 2, 3, 4].map((i) => rec(hourStart - 5 * HOUR + i * HOUR, w));
    await store().write(records, { created: true });
    // one record past the TTL, then the oldest beyond 2
    expect(await s.trim(w, hourStart - 4 * HOUR + DAY - 1)).toBe(3);
    expect(await redis.zrange(keys.webhookDeliveries(w), 0, -1)).toEqual([records[3].id, records[4].id]);
    expect(await s.exist(records.map((r) => r.id))).toEqual([false, false, false, true, true]);
  });

  it('touches only its own webhook', async () => {
    const s = store(7 * DAY, 1);
    const w1 = webhook();
    const w2 = webhook();
    const a = [rec(hourStart + 60, w1), rec(hourStart + 61, w1)];
    const b = [rec(hourStart + 62, w2), rec(hourStart + 63, w2)];
    await store().write([...a, ...b], { created: true });
    expect(await s.trim(w1)).toBe(1);
    expect(await s.exist([...a, ...b].map((r) => r.id))).toEqual([false, true, true, true]);
  });

  it('a webhook without an index trims nothing', async () => {
    expect(await store().trim(webhook())).toBe(0);
  });

  it('a write that crosses the bound trims at once: records, index and facets', async () => {
    const s = store(7 * DAY, 3);
    const w = webhook();
    const records = [0, 1, 2, 3, 4].map((i) => rec(hourStart - HOUR + i, w, { status: 'failed', status_code: 503 }));
    await s.write(records, { created: true });
    const r = await s.list(w, {}, { offset: 0, limit: 10 });
    expect(r.total).toBe(3);
    expect(r.deliveries.map((d) => d.id)).toEqual(
      records
        .slice(2)
        .reverse()
        .map((d) => d.id),
    );
    expect(await s.exist([records[0].id, records[1].id])).toEqual([false, false]);
    for (const [f, v] of [
      ['status', 'failed'],
      ['code', '503'],
      ['topic', 'deviceauth'],
    ] as const)
      expect(await redis.zcard(keys.webhookDeliveryFacet(w, f, v))).toBe(3);
    expect(await redis.zcard(keys.orgDeliveries('org_1'))).toBeGreaterThanOrEqual(3);
    expect(await redis.zmscore(keys.orgDeliveries('org_1'), records[0].id, records[4].id)).toEqual([
      null,
      String(hourStart - HOUR + 4),
    ]);
  });
});

describe('dueForTrim', () => {
  const many = (w: string, n: number) => Array.from({ length: n }, (_, i) => rec(hourStart + i, w));

  it('is due every tenth of the bound, per webhook', () => {
    const s = store(DAY, 1_000); // every 100
    expect(s.dueForTrim(many('wh_a', 99))).toEqual([]);
    expect(s.dueForTrim(many('wh_b', 50))).toEqual([]);
    expect(s.dueForTrim(many('wh_a', 1))).toEqual(['wh_a']);
    // the count starts again
    expect(s.dueForTrim(many('wh_a', 99))).toEqual([]);
    expect(s.dueForTrim([...many('wh_b', 50), ...many('wh_a', 1)])).toEqual(['wh_b', 'wh_a']);
  });

  it('at least every 100 records, however small the bound', () => {
    const s = store(DAY, 10);
    expect(s.dueForTrim(many('wh_a', 99))).toEqual([]);
    expect(s.dueForTrim(many('wh_a', 1))).toEqual(['wh_a']);
  });

  it('a large bound trims less often', () => {
    const s = store(DAY, 5_000); // every 500
    expect(s.dueForTrim(many('wh_a', 499))).toEqual([]);
    expect(s.dueForTrim(many('wh_a', 1))).toEqual(['wh_a']);
  });

  it('a batch crossing the mark several times names the webhook each time', () => {
    const s = store(DAY, 1_000);
    const due = s.dueForTrim(many('wh_a', 250));
    expect(due).toEqual(['wh_a', 'wh_a']);
    expect(s.dueForTrim(many('wh_a', 49))).toEqual([]);
    expect(s.dueForTrim(many('wh_a', 1))).toEqual(['wh_a']);
  });

  it('nothing is due for no records', () => {
    expect(store().dueForTrim([])).toEqual([]);
  });
});
