/**
 * Events in (docs/contract.md §4): one or a batch → 202 {accepted, duplicates, ids}; generated ids;
 * duplicates by (org, id); the batch checked whole; size limits; content type; the backlog bound;
 * each type's data. No worker runs: what was queued is read from the event stream itself.
 */
import { Readable } from 'node:stream';
import { decodeEvent } from '@devhooks/engine';
import { redisKeys } from '@devhooks/core';
import { startTestApi, type TestApi } from '../../../test/support/api';
import { testPrefix, testRedis } from '../../../test/support/redis';
import { UUID, detailsOf, expectError, fingerprint, streamLength } from './helpers';

const prefix = testPrefix(__filename);
const redis = testRedis();
let api: TestApi;
let org: string;
let admin: string;
let producer: string;
let otherProducer: string;

beforeAll(async () => {
  api = await startTestApi(prefix);
  const o = await api.org('events', 'admin');
  org = o.id;
  admin = o.key;
  producer = await api.key(org, 'producer');
  otherProducer = (await api.org('other', 'producer')).key;
});

afterAll(async () => {
  await api.close();
  redis.disconnect();
});

const post = (body: unknown, token = producer) => api.call('POST', '/v1/events', { token, body });
const len = () => streamLength(redis, prefix);

/** The last `n` entries of the event stream, decoded. */
async function lastEvents(n: number) {
  const entries = await redis.xrevrange(redisKeys(prefix).shard(0).stream, '+', '-', 'COUNT', n);
  return entries.reverse().map(([, flat]) => decodeEvent(flat));
}

const EV = { type: 'device-status-changed', data: { id: 'dev-1', status: 'accepted' } };

describe('accepted', () => {
  it('one event → 202 {accepted, duplicates, ids}, queued as given', async () => {
    const before = await len();
    const res = await post({
      id: 'evt-single',
      type: 'device-provisioned',
      site_id: 'site-1',
      group_id: 'grp-1',
      device_id: 'dev-9',
      time: '2024-05-01T12:00:00.123+02:00',
      data: { id: 'dev-9', status: 'pending', extra: { kept: true } },
    });
    expect(res.status).toBe(202);
    expect(res.body).toEqual({ accepted: 1, duplicates: 0, ids: ['evt-single'] });
    expect(await len()).toBe(before + 1);
    const [e] = await lastEvents(1);
    expect(e).toMatchObject({
      org,
      id: 'evt-single',
      type: 'device-provisioned',
      site_id: 'site-1',
      group_id: 'grp-1',
      device_id: 'dev-9',
      time: '2024-05-01T12:00:00.123+02:00',
    });
    expect(JSON.parse(e.data)).toEqual({ id: 'dev-9', status: 'pending', extra: { kept: true } });
  });

  it('an accepted event shows in the Redis fingerprint (so the "nothing written" checks can see writes)', async () => {
    const before = await fingerprint(redis, prefix);
    expect((await post({ id: 'fp-probe', ...EV })).status).toBe(202);
    const after = await fingerprint(redis, prefix);
    expect(after).not.toEqual(before);
    const stream = redisKeys(prefix).shard(0).stream;
    expect(after[stream]).not.toBe(before[stream]);
  });

  it('an admin key may send events too', async () => {
    expect((await post(EV, admin)).status).toBe(202);
  });

  it('without an id: a UUID is generated; without a time: the arrival time', async () => {
    const t0 = Date.now();
    const res = await post(EV);
    const t1 = Date.now();
    expect(res.status).toBe(202);
    expect(res.body).toMatchObject({ accepted: 1, duplicates: 0 });
    expect(res.body.ids).toHaveLength(1);
    expect(res.body.ids[0]).toMatch(UUID);
    const [e] = await lastEvents(1);
    expect(e.id).toBe(res.body.ids[0]);
    const at = Date.parse(e.time);
    expect(at).toBeGreaterThanOrEqual(t0 - 1);
    expect(at).toBeLessThanOrEqual(t1 + 1);
  });

  it('a batch → 202 with every id, in order, generated ones unique', async () => {
    const before = await len();
    const res = await post({
      events: [
        { id: 'batch-a', ...EV },
        { type: 'alarm', data: { type: 'AP_OFFLINE', timestamp: 1714564800 } },
        { type: 'message', data: { temp: 21.5 } },
        { id: 'batch-d', type: 'audit', data: { id: 'a1', message: 'login', timestamp: '2024-05-01T12:00:00Z' } },
      ],
    });
    expect(res.status).toBe(202);
    expect(res.body.accepted).toBe(4);
    expect(res.body.duplicates).toBe(0);
    expect(res.body.ids[0]).toBe('batch-a');
    expect(res.body.ids[1]).toMatch(UUID);
    expect(res.body.ids[2]).toMatch(UUID);
    expect(res.body.ids[1]).not.toBe(res.body.ids[2]);
    expect(res.body.ids[3]).toBe('batch-d');
    expect(await len()).toBe(before + 4);
    expect((await lastEvents(4)).map((e) => e.id)).toEqual(res.body.ids);
  });

  it.each(['application/json; charset=utf-8', 'Application/JSON', 'application/cloudevents+json'])(
    'content type %s is JSON',
    async (ct) => {
      const res = await api.call('POST', '/v1/events', { token: producer, raw: JSON.stringify(EV), contentType: ct });
      expect(res.status).toBe(202);
    },
  );

  it('exactly 1000 events are accepted', async () => {
    const before = await len();
    const events = Array.from({ length: 1000 }, (_, i) => ({ type: 'message', data: { i } }));
    const res = await post({ events });
    expect(res.status).toBe(202);
    expect(res.body.accepted).toBe(1000);
    expect(await len()).toBe(before + 1000);
  });

  it('a body just under 1 MiB is accepted', async () => {
    const body = JSON.stringify({ type: 'message', data: { blob: 'x'.repeat(1024 * 1024 - 200) } });
    expect(Buffer.byteLength(body)).toBeLessThanOrEqual(1024 * 1024);
    const res = await api.call('POST', '/v1/events', { token: producer, raw: body });
    expect(res.status).toBe(202);
  });
});

describe('duplicates: the same id in the same org within 24 h', () => {
  it('the same id again → accepted 0, duplicates 1, nothing queued', async () => {
    const first = await post({ id: 'dup-1', ...EV });
    expect(first.body).toEqual({ accepted: 1, duplicates: 0, ids: ['dup-1'] });
    const before = await len();
    const again = await post({ id: 'dup-1', ...EV, data: { id: 'dev-2', status: 'rejected' } });
    expect(again.status).toBe(202);
    expect(again.body).toEqual({ accepted: 0, duplicates: 1, ids: ['dup-1'] });
    expect(await len()).toBe(before);
  });

  it('sent by another key of the same org: still a duplicate', async () => {
    await post({ id: 'dup-2', ...EV });
    const again = await post({ id: 'dup-2', ...EV }, admin);
    expect(again.body).toEqual({ accepted: 0, duplicates: 1, ids: ['dup-2'] });
  });

  it('the same id in another org is not a duplicate', async () => {
    await post({ id: 'shared-id', ...EV });
    const before = await len();
    const other = await post({ id: 'shared-id', ...EV }, otherProducer);
    expect(other.body).toEqual({ accepted: 1, duplicates: 0, ids: ['shared-id'] });
    expect(await len()).toBe(before + 1);
  });

  it('a repeat within one batch is counted', async () => {
    const before = await len();
    const res = await post({
      events: [
        { id: 'in-batch', ...EV },
        { id: 'in-batch', ...EV },
        { id: 'in-batch-2', ...EV },
      ],
    });
    expect(res.body).toEqual({ accepted: 2, duplicates: 1, ids: ['in-batch', 'in-batch', 'in-batch-2'] });
    expect(await len()).toBe(before + 2);
  });

  it('a batch mixing new and old ids', async () => {
    await post({ id: 'old-1', ...EV });
    const res = await post({ events: [{ id: 'old-1', ...EV }, { id: 'new-1', ...EV }, EV] });
    expect(res.body.accepted).toBe(2);
    expect(res.body.duplicates).toBe(1);
    expect(res.body.ids.slice(0, 2)).toEqual(['old-1', 'new-1']);
  });

  it('events without an id are never duplicates', async () => {
    const before = await len();
    const a = await post(EV);
    const b = await post(EV);
    expect(a.body.accepted + b.body.accepted).toBe(2);
    expect(a.body.ids[0]).not.toBe(b.body.ids[0]);
    expect(await len()).toBe(before + 2);
  });
});

describe('refused, and nothing queued', () => {
  async function refused(
    send: () => Promise<import('../../../test/support/api').CallResult>,
    status: number,
    code: string,
  ) {
    const before = await fingerprint(redis, prefix);
    const res = await send();
    expectError(res, status, code);
    expect(await fingerprint(redis, prefix)).toEqual(before);
    return res;
  }

  it('one bad event in a batch → 400 naming its index; the good ones are not queued either', async () => {
    const res = await refused(
      () =>
        post({
          events: [
            { id: 'atom-1', ...EV },
            { id: 'atom-2', type: 'device-status-changed', data: { id: 'd' } },
            { id: 'atom-3', ...EV },
          ],
        }),
      400,
      'invalid_request',
    );
    expect(detailsOf(res)).toEqual([{ index: 1, path: '/data/status', message: expect.any(String) }]);
    // nothing of the batch was recorded, not even the duplicate window of the good ones
    const later = await post({ id: 'atom-1', ...EV });
    expect(later.body).toEqual({ accepted: 1, duplicates: 0, ids: ['atom-1'] });
  });

  it('several bad events → each named by its index', async () => {
    const res = await refused(
      () => post({ events: [{ type: 'nope', data: {} }, EV, { type: 'message' }] }),
      400,
      'invalid_request',
    );
    const d = detailsOf(res);
    expect(d).toContainEqual({ index: 0, path: '/type', message: expect.any(String) });
    expect(d).toContainEqual({ index: 2, path: '/data', message: expect.any(String) });
    expect(d.some((x) => x.index === 1)).toBe(false);
  });

  it('1001 events → 413', async () => {
    const events = Array.from({ length: 1001 }, () => ({ type: 'message', data: {} }));
    await refused(() => post({ events }), 413, 'payload_too_large');
  });

  it('more than 1 MiB (Content-Length) → 413', async () => {
    const raw = JSON.stringify({ type: 'message', data: { blob: 'x'.repeat(1024 * 1024 + 10) } });
    await refused(() => api.call('POST', '/v1/events', { token: producer, raw }), 413, 'payload_too_large');
  });

  it('more than 1 MiB, streamed without a Content-Length → 413', async () => {
    const before = await fingerprint(redis, prefix);
    const chunk = Buffer.alloc(64 * 1024, 'x');
    let sent = 0;
    const body = new Readable({
      read() {
        if (sent === 0) this.push('{"type":"message","data":{"blob":"');
        if (sent < 20) {
          sent++;
          this.push(chunk);
        } else this.push(null);
      },
    });
    const res = await fetch(api.base + '/v1/events', {
      method: 'POST',
      headers: { authorization: `Bearer ${producer}`, 'content-type': 'application/json' },
      body: Readable.toWeb(body) as ReadableStream,
      duplex: 'half',
    } as RequestInit);
    const text = await res.text();
    expect(res.status).toBe(413);
    expect(JSON.parse(text).error.code).toBe('payload_too_large');
    expect(await fingerprint(redis, prefix)).toEqual(before);
  });

  it.each<[string, string | Buffer, string | null]>([
    ['text/plain', JSON.stringify(EV), 'text/plain'],
    ['form-encoded', 'type=message', 'application/x-www-form-urlencoded'],
    ['application/xml', '<event/>', 'application/xml'],
    ['no content type', Buffer.from(JSON.stringify(EV)), null],
  ])('%s → 415', async (_label, raw, contentType) => {
    await refused(
      () => api.call('POST', '/v1/events', { token: producer, raw, contentType }),
      415,
      'unsupported_media_type',
    );
  });
});

describe('the backlog bound', () => {
  let small: TestApi;
  let key: string;
  const smallPrefix = testPrefix(__filename);
  beforeAll(async () => {
    small = await startTestApi(smallPrefix, { DEVHOOKS_MAX_BACKLOG: '5' });
    key = (await small.org('small', 'producer')).key;
  });
  afterAll(async () => {
    await small.close();
  });

  it('over DEVHOOKS_MAX_BACKLOG (no worker draining) → 429 with Retry-After, nothing queued', async () => {
    const fill = await small.call('POST', '/v1/events', {
      token: key,
      body: { events: Array.from({ length: 5 }, () => EV) },
    });
    expect(fill.body).toMatchObject({ accepted: 5 });
    const before = await fingerprint(redis, smallPrefix);
    const res = await small.call('POST', '/v1/events', { token: key, body: { id: 'late', ...EV } });
    expectError(res, 429, 'backlog_full');
    expect(res.headers.get('retry-after')).toMatch(/^\d+$/);
    expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(await fingerprint(redis, smallPrefix)).toEqual(before);
    expect(await streamLength(redis, smallPrefix)).toBe(5);
    // still refused, batch or not; the id was not taken by the refused call
    expectError(
      await small.call('POST', '/v1/events', { token: key, body: { events: [{ id: 'late', ...EV }] } }),
      429,
      'backlog_full',
    );
  });

  it('a bad event is still a 400 (checked before the backlog)', async () => {
    expectError(
      await small.call('POST', '/v1/events', { token: key, body: { type: 'nope', data: {} } }),
      400,
      'invalid_request',
    );
  });
});

describe('the envelope', () => {
  it.each<[string, string, unknown]>([
    ['no type', '/type', { data: {} }],
    ['an unknown type', '/type', { type: 'device-exploded', data: {} }],
    ['the ping type', '/type', { type: 'ping', data: {} }],
    ['a numeric type', '/type', { type: 3, data: {} }],
    ['no data', '/data', { type: 'message' }],
    ['data as an array', '/data', { type: 'message', data: [1] }],
    ['data as a string', '/data', { type: 'message', data: 'hi' }],
    ['data null', '/data', { type: 'message', data: null }],
    ['an empty id', '/id', { id: '', type: 'message', data: {} }],
    ['an id of 129 characters', '/id', { id: 'i'.repeat(129), type: 'message', data: {} }],
    ['an id with a space', '/id', { id: 'a b', type: 'message', data: {} }],
    ['an id with a slash', '/id', { id: 'a/b', type: 'message', data: {} }],
    ['a numeric id', '/id', { id: 12, type: 'message', data: {} }],
    ['a time that is not RFC 3339', '/time', { type: 'message', time: 'yesterday', data: {} }],
    ['a date without a time', '/time', { type: 'message', time: '2024-05-01', data: {} }],
    ['a numeric site_id', '/site_id', { type: 'message', site_id: 1, data: {} }],
    ['an object group_id', '/group_id', { type: 'message', group_id: {}, data: {} }],
    ['a device_id of 300 characters', '/device_id', { type: 'message', device_id: 'd'.repeat(300), data: {} }],
    ['an unknown field', '/topic', { type: 'message', data: {}, topic: 'messages' }],
  ])('%s → 400 naming %s', async (_label, path, body) => {
    const before = await len();
    const res = await post(body);
    expectError(res, 400, 'invalid_request');
    expect(detailsOf(res)).toContainEqual({ path, message: expect.any(String) });
    expect(await len()).toBe(before);
  });

  it.each<[string, unknown]>([
    ['events not an array', { events: 'x' }],
    ['an empty batch', { events: [] }],
    ['a batch with another field', { events: [EV], source: 'x' }],
    ['a batch item that is not an object', { events: [EV, 'x'] }],
  ])('%s → 400', async (_label, body) => {
    const before = await len();
    expectError(await post(body), 400, 'invalid_request');
    expect(await len()).toBe(before);
  });

  it.each<[string, Record<string, unknown>]>([
    ['an id of 128 characters', { id: 'i'.repeat(128) }],
    ['an id of every allowed character', { id: 'AZaz09._:-' }],
    ['a time with an offset', { time: '2024-05-01T12:00:00-07:00' }],
    ['a time with fractional seconds', { time: '2024-05-01T12:00:00.123456Z' }],
    ['null scope ids', { site_id: null, group_id: null, device_id: null }],
  ])('%s is accepted', async (_label, extra) => {
    const res = await post({ ...EV, ...extra });
    expect({ status: res.status, text: res.text }).toMatchObject({ status: 202 });
  });
});

describe("each type's data", () => {
  const inv = [{ name: 'os', value: 'linux', scope: 'inventory' }];
  it.each<[string, unknown]>([
    ['device-provisioned', { id: 'd1' }],
    [
      'device-provisioned',
      { id: 'd1', status: 'pending', auth_sets: [{ id: 'a' }], created_ts: '2024-01-01T00:00:00Z' },
    ],
    ...['accepted', 'noauth', 'pending', 'preauthorized', 'rejected', 'decommissioned'].map(
      (status): [string, unknown] => ['device-status-changed', { id: 'd1', status }],
    ),
    ['device-decommissioned', { id: 'd1' }],
    ['devices-inventory-changed', { device_id: 'd1', inventory: inv }],
    ['devices-inventory-changed', { device_id: 'd1', inventory: [] }],
    ['device-inventory-changed', { device_id: 'd1', inventory: [{ name: 'mem', value: 512, scope: 'system' }] }],
    ['audit', { id: 'a1', message: 'user logged in', timestamp: 1714564800 }],
    ['audit', { id: 'a1', message: '', timestamp: '2024-05-01T12:00:00Z' }],
    ['device-event', { type: 'AP_RESTARTED', timestamp: 1714564800.25 }],
    ['alarm', { type: 'device_down', timestamp: '2024-05-01T12:00:00Z', severity: 'critical' }],
    ['message', {}],
    ['message', { anything: [1, { nested: true }], goes: null }],
  ])('%s with %j → 202', async (type, data) => {
    const res = await post({ type, data });
    expect({ status: res.status, text: res.text }).toMatchObject({ status: 202 });
    const [e] = await lastEvents(1);
    expect(JSON.parse(e.data)).toEqual(data);
  });

  it.each<[string, unknown, string]>([
    ['device-provisioned', {}, '/data/id'],
    ['device-provisioned', { id: '' }, '/data/id'],
    ['device-provisioned', { id: 'd', status: 'exploded' }, '/data/status'],
    ['device-status-changed', { status: 'accepted' }, '/data/id'],
    ['device-status-changed', { id: 'd1' }, '/data/status'],
    ['device-status-changed', { id: 'd1', status: 'online' }, '/data/status'],
    ['device-decommissioned', {}, '/data/id'],
    ['device-decommissioned', { id: 5 }, '/data/id'],
    ['devices-inventory-changed', { inventory: inv }, '/data/device_id'],
    ['devices-inventory-changed', { device_id: 'd1' }, '/data/inventory'],
    ['devices-inventory-changed', { device_id: 'd1', inventory: { os: 'linux' } }, '/data/inventory'],
    [
      'devices-inventory-changed',
      { device_id: 'd1', inventory: [{ name: 'os', value: 'linux' }] },
      '/data/inventory/0/scope',
    ],
    [
      'devices-inventory-changed',
      { device_id: 'd1', inventory: [{ value: 'linux', scope: 's' }] },
      '/data/inventory/0/name',
    ],
    [
      'devices-inventory-changed',
      { device_id: 'd1', inventory: [{ name: 'os', scope: 's' }] },
      '/data/inventory/0/value',
    ],
    ['device-inventory-changed', { device_id: 'd1', inventory: ['os'] }, '/data/inventory/0'],
    ['audit', { message: 'm', timestamp: 1 }, '/data/id'],
    ['audit', { id: 'a', timestamp: 1 }, '/data/message'],
    ['audit', { id: 'a', message: 'm' }, '/data/timestamp'],
    ['device-event', { timestamp: 1 }, '/data/type'],
    ['device-event', { type: 'AP_RESTARTED' }, '/data/timestamp'],
    ['device-event', { type: 'AP_RESTARTED', timestamp: 'last tuesday' }, '/data/timestamp'],
    ['alarm', { timestamp: 1 }, '/data/type'],
    ['alarm', { type: 'x' }, '/data/timestamp'],
    ['alarm', { type: 'x', timestamp: true }, '/data/timestamp'],
  ])('%s with %j → 400 naming %s', async (type, data, path) => {
    const before = await len();
    const res = await post({ type, data });
    expectError(res, 400, 'invalid_request');
    expect(detailsOf(res)).toContainEqual({ path, message: expect.any(String) });
    expect(await len()).toBe(before);
  });
});
