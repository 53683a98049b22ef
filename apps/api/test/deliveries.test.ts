/**
 * The delivery log with a worker running and a loopback receiver (docs/contract.md §3): a webhook's
 * deliveries with filters and paging, newest first; one delivery with its request and attempts;
 * retry by hand; ping.
 */
import { startTestApi, type TestApi } from '../../../test/support/api';
import { Receiver, eventually, type Reply } from '../../../test/support/receiver';
import { testPrefix } from '../../../test/support/redis';
import { startTestWorker } from '../../../test/support/worker';
import type { WorkerHost } from '../../worker/src';
import { detailsOf, expectError, sleep } from './helpers';

const prefix = testPrefix(__filename);
let api: TestApi;
let worker: WorkerHost;
let rx: Receiver;
let admin: string;
let viewer: string;

/** Replies by webhook-id, taking precedence over the rules below. */
const overrides = new Map<string, Reply>();
const BIG = 'x'.repeat(10 * 1024);

beforeAll(async () => {
  api = await startTestApi(prefix, { DEVHOOKS_ALLOW_PRIVATE_TARGETS: 'true' });
  worker = await startTestWorker(prefix);
  rx = await Receiver.start();
  rx.respond = (r) => {
    const o = overrides.get(String(r.headers['webhook-id']));
    if (o) return o;
    if (r.path === '/big') return { status: 200, body: BIG, headers: { 'x-receiver': 'big' } };
    if (r.path === '/ping-fail') return { status: 400, body: 'no pings here' };
    try {
      const b = JSON.parse(r.body);
      const reply = b.reply ?? b.data?.reply;
      if (reply) return { status: reply, body: `answered ${reply}` };
    } catch {
      // not JSON: default
    }
    return { status: 200, body: 'ok' };
  };
  const o = await api.org('log', 'admin');
  admin = o.key;
  viewer = await api.key(o.id, 'viewer');
});

afterAll(async () => {
  await worker.stop();
  await api.close();
  await rx.close();
});

async function webhook(body: Record<string, unknown>): Promise<any> {
  const r = await api.call('POST', '/v1/webhooks', { token: admin, body });
  if (r.status !== 201) throw new Error(`webhook: ${r.status} ${r.text}`);
  return r.body;
}

/** Sends one event and waits until its delivery to `hook` has settled (first attempt done). */
async function deliver(hook: string, event: Record<string, unknown>): Promise<any> {
  const r = await api.call('POST', '/v1/events', { token: admin, body: event });
  expect(r.status).toBe(202);
  const id = r.body.ids[0];
  return eventually(async () => {
    const list = await api.call('GET', `/v1/webhooks/${hook}/deliveries?limit=200`, { token: admin });
    const d = list.body.deliveries.find((x: { event_ids: string[] }) => x.event_ids.includes(id));
    return d && d.status !== 'pending' ? d : undefined;
  });
}

async function detail(id: string, token = admin): Promise<any> {
  const r = await api.call('GET', `/v1/deliveries/${id}`, { token });
  expect(r.status).toBe(200);
  return r.body;
}

describe('the log of one webhook', () => {
  let hook: any;
  /** By event id: d-1 (200), m-1 (404), d-2 (201), m-2 (200), d-3 (422), sent in that order. */
  const sent: Record<string, any> = {};
  /** By event id: a time (ms) after the previous delivery settled and before this event was sent. */
  const sentAt: Record<string, number> = {};
  const eventsOf = (r: { body: { deliveries: Array<{ event_ids: string[] }> } }) =>
    r.body.deliveries.map((d) => d.event_ids[0]);
  const list = (query = '', token = admin) => api.call('GET', `/v1/webhooks/${hook.id}/deliveries${query}`, { token });

  beforeAll(async () => {
    hook = await webhook({ name: 'main', url: rx.url('/main'), topics: ['deviceauth', 'messages'] });
    const plan: Array<[string, string, number]> = [
      ['d-1', 'deviceauth', 200],
      ['m-1', 'messages', 404],
      ['d-2', 'deviceauth', 201],
      ['m-2', 'messages', 200],
      ['d-3', 'deviceauth', 422],
    ];
    for (const [id, topic, reply] of plan) {
      const event =
        topic === 'deviceauth'
          ? { id, type: 'device-provisioned', data: { id: 'dev-1', reply } }
          : { id, type: 'message', data: { reply } };
      await sleep(5); // a clear gap between deliveries, so since/until can split them
      sentAt[id] = Date.now();
      await sleep(2);
      sent[id] = await deliver(hook.id, event);
    }
  });

  it('→ {total, offset, limit, deliveries}, newest first, in the delivery shape', async () => {
    const r = await list();
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ total: 5, offset: 0, limit: 50 });
    expect(eventsOf(r)).toEqual(['d-3', 'm-2', 'd-2', 'm-1', 'd-1']);
    const times = r.body.deliveries.map((d: { created_at: string }) => Date.parse(d.created_at));
    expect([...times].sort((a, b) => b - a)).toEqual(times);
    for (const d of r.body.deliveries) {
      for (const k of [
        'id',
        'webhook_id',
        'event_ids',
        'topic',
        'status',
        'attempts',
        'status_code',
        'error',
        'created_at',
        'updated_at',
        'next_attempt_at',
      ]) {
        expect(d).toHaveProperty(k);
      }
      expect(d).not.toHaveProperty('attempt_log');
      expect(d).not.toHaveProperty('entry_ids');
      expect(d).not.toHaveProperty('org_id');
      expect(d.webhook_id).toBe(hook.id);
      expect(d.id).toMatch(/^dlv_/);
    }
    expect(r.body.deliveries[0]).toMatchObject({
      status: 'failed',
      status_code: 422,
      attempts: 1,
      topic: 'deviceauth',
      next_attempt_at: null,
    });
    expect(r.body.deliveries[1]).toMatchObject({
      status: 'succeeded',
      status_code: 200,
      attempts: 1,
      topic: 'messages',
      error: null,
    });
    expect(r.body.deliveries[3]).toMatchObject({
      status: 'failed',
      status_code: 404,
      error: expect.stringContaining('404'),
    });
  });

  it.each<[string, string[]]>([
    ['status=succeeded', ['m-2', 'd-2', 'd-1']],
    ['status=failed', ['d-3', 'm-1']],
    ['status=pending', []],
    ['topic=messages', ['m-2', 'm-1']],
    ['topic=deviceauth', ['d-3', 'd-2', 'd-1']],
    ['topic=alarms', []],
    ['topic=ping', []],
    ['status_code=200', ['m-2', 'd-1']],
    ['status_code=201', ['d-2']],
    ['status_code=404', ['m-1']],
    ['status_code=500', []],
    ['status=succeeded&topic=deviceauth', ['d-2', 'd-1']],
    ['status=failed&status_code=422', ['d-3']],
  ])('?%s', async (query, expected) => {
    const r = await list(`?${query}`);
    expect(r.status).toBe(200);
    expect(eventsOf(r)).toEqual(expected);
    expect(r.body.total).toBe(expected.length);
  });

  it('since and until bound the deliveries by time, inclusive (RFC 3339 or Unix ms)', async () => {
    // bounds taken between two sends: every time of the earlier delivery is before, every time of
    // the later one after, whichever time (event accepted, first attempt) the index keeps
    const iso = (id: string) => encodeURIComponent(new Date(sentAt[id]).toISOString());
    expect(eventsOf(await list(`?since=${iso('d-2')}`))).toEqual(['d-3', 'm-2', 'd-2']);
    expect(eventsOf(await list(`?since=${sentAt['d-2']}`))).toEqual(['d-3', 'm-2', 'd-2']);
    expect(eventsOf(await list(`?until=${sentAt['d-2'] - 1}`))).toEqual(['m-1', 'd-1']);
    expect(eventsOf(await list(`?since=${iso('m-1')}&until=${sentAt['d-3'] - 1}`))).toEqual(['m-2', 'd-2', 'm-1']);
    expect(eventsOf(await list(`?since=${sentAt['m-2']}&until=${sentAt['m-2']}`))).toEqual([]);
    expect(eventsOf(await list(`?until=${sentAt['d-1'] - 1}`))).toEqual([]);
    const later = await list(`?since=${Date.now() + 60_000}`);
    expect(later.body).toMatchObject({ total: 0, deliveries: [] });
    // with another filter, and with paging
    expect(eventsOf(await list(`?since=${iso('d-2')}&topic=deviceauth`))).toEqual(['d-3', 'd-2']);
    const page = await list(`?since=${sentAt['m-1']}&limit=2&offset=1`);
    expect(page.body).toMatchObject({ total: 4, offset: 1, limit: 2 });
    expect(eventsOf(page)).toEqual(['m-2', 'd-2']);
  });

  it('pages, newest first, total the full count', async () => {
    const pages = [await list('?limit=2'), await list('?offset=2&limit=2'), await list('?offset=4&limit=2')];
    expect(pages.map((p) => p.body.total)).toEqual([5, 5, 5]);
    expect(pages.map(eventsOf)).toEqual([['d-3', 'm-2'], ['d-2', 'm-1'], ['d-1']]);
    expect(pages[1].body).toMatchObject({ offset: 2, limit: 2 });
    const filtered = await list('?status=succeeded&offset=1&limit=1');
    expect(filtered.body).toMatchObject({ total: 3, offset: 1, limit: 1 });
    expect(eventsOf(filtered)).toEqual(['d-2']);
    expect((await list('?offset=10')).body).toMatchObject({ total: 5, deliveries: [] });
  });

  it.each<[string, string]>([
    ['status=done', '/status'],
    ['topic=weather', '/topic'],
    ['status_code=99', '/status_code'],
    ['status_code=600', '/status_code'],
    ['status_code=abc', '/status_code'],
    ['since=yesterday', '/since'],
    ['until=2024-13-45', '/until'],
    ['limit=201', '/limit'],
    ['limit=0', '/limit'],
    ['offset=-1', '/offset'],
  ])('?%s → 400 naming %s', async (query, path) => {
    const r = await list(`?${query}`);
    expectError(r, 400, 'invalid_request');
    expect(detailsOf(r)).toContainEqual({ path, message: expect.any(String) });
  });

  it('a viewer reads the log and the deliveries', async () => {
    const r = await list('', viewer);
    expect(r.body.total).toBe(5);
    const d = await detail(sent['d-1'].id, viewer);
    expect(d.id).toBe(sent['d-1'].id);
  });

  it('an unknown webhook → 404', async () => {
    expectError(await api.call('GET', '/v1/webhooks/wh_nope/deliveries', { token: admin }), 404, 'not_found');
  });

  describe('GET /v1/deliveries/{id}', () => {
    it('has the request as sent (url, headers, body) and every attempt', async () => {
      const d = await detail(sent['d-1'].id);
      const got = rx.requests.find((r) => r.headers['webhook-id'] === 'd-1')!;
      expect(got).toBeDefined();
      expect(d).toMatchObject({ ...sent['d-1'], updated_at: expect.any(String) });
      expect(d.request).toMatchObject({ url: rx.url('/main'), headers: expect.any(Object) });
      expect(d.request.body).toBe(got.body);
      expect(JSON.parse(d.request.body)).toMatchObject({
        id: 'd-1',
        type: 'device-provisioned',
        data: { id: 'dev-1', reply: 200 },
      });
      expect(d.request.headers).toMatchObject({
        'content-type': 'application/json',
        'user-agent': expect.stringMatching(/^devhooks\//),
        'webhook-id': 'd-1',
        'webhook-timestamp': got.headers['webhook-timestamp'],
        'webhook-signature': '[redacted]',
      });
      expect(d.attempt_log).toHaveLength(1);
      const [a] = d.attempt_log;
      expect(a).toMatchObject({
        at: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
        status_code: 200,
        duration_ms: expect.any(Number),
        error: null,
        response_headers: expect.objectContaining({ 'content-type': 'text/plain' }),
        response_body: 'answered 200',
      });
      expect(a.duration_ms).toBeGreaterThanOrEqual(0);
    });

    it('the signature value itself is never shown', async () => {
      const got = rx.requests.find((r) => r.headers['webhook-id'] === 'd-1')!;
      const sig = String(got.headers['webhook-signature']);
      expect(sig).toMatch(/^v1,/);
      const r = await api.call('GET', `/v1/deliveries/${sent['d-1'].id}`, { token: admin });
      expect(r.text).not.toContain(sig.slice(3));
      expect(r.text).not.toContain(hook.secret.slice(6));
    });

    it('a failed attempt keeps the status and the response', async () => {
      const d = await detail(sent['m-1'].id);
      expect(d).toMatchObject({ status: 'failed', status_code: 404, attempts: 1, topic: 'messages' });
      expect(d.request.body).toBe(JSON.stringify({ reply: 404 }));
      expect(d.attempt_log[0]).toMatchObject({ status_code: 404, response_body: 'answered 404' });
      expect(d.attempt_log[0]).toHaveProperty('error');
    });

    it('keeps only the first 4 KiB of the response body', async () => {
      const big = await webhook({ name: 'big', url: rx.url('/big'), topics: ['messages'] });
      // the main webhook takes messages too: its delivery is not the one looked at
      const settled = await deliver(big.id, { id: 'big-1', type: 'message', data: { n: 1 } });
      const d = await detail(settled.id);
      const body: string = d.attempt_log[0].response_body;
      expect(Buffer.byteLength(body)).toBe(4096);
      expect(body).toBe(BIG.slice(0, 4096));
      expect(d.attempt_log[0].response_headers).toMatchObject({ 'x-receiver': 'big' });
      await api.call('DELETE', `/v1/webhooks/${big.id}`, { token: admin });
    });

    it('unknown → 404', async () => {
      expectError(await api.call('GET', '/v1/deliveries/dlv_nope', { token: admin }), 404, 'not_found');
    });
  });

  describe('POST /v1/deliveries/{id}/retry', () => {
    it('→ 202; a new attempt reaches the receiver with the same webhook-id, and is logged', async () => {
      overrides.set('m-1', { status: 200, body: 'fine now' });
      const before = rx.requests.filter((r) => r.headers['webhook-id'] === 'm-1').length;
      const res = await api.call('POST', `/v1/deliveries/${sent['m-1'].id}/retry`, { token: admin });
      expect(res.status).toBe(202);
      expect(res.body).toMatchObject({ delivery_id: sent['m-1'].id, status: 'pending' });
      await eventually(() => rx.requests.filter((r) => r.headers['webhook-id'] === 'm-1').length > before);
      const again = rx.requests.filter((r) => r.headers['webhook-id'] === 'm-1');
      expect(again[again.length - 1].body).toBe(again[0].body);
      const d = await eventually(async () => {
        const x = await detail(sent['m-1'].id);
        return x.attempts === 2 && x.status !== 'pending' ? x : undefined;
      });
      expect(d).toMatchObject({ status: 'succeeded', status_code: 200, attempts: 2, error: null });
      expect(d.attempt_log).toHaveLength(2);
      expect(d.attempt_log[0].status_code).toBe(404);
      expect(d.attempt_log[1]).toMatchObject({ status_code: 200, response_body: 'fine now', trigger: 'manual' });
    });

    it('a succeeded delivery can be sent again by hand', async () => {
      const before = rx.requests.filter((r) => r.headers['webhook-id'] === 'd-2').length;
      expect((await api.call('POST', `/v1/deliveries/${sent['d-2'].id}/retry`, { token: admin })).status).toBe(202);
      await eventually(() => rx.requests.filter((r) => r.headers['webhook-id'] === 'd-2').length === before + 1);
      const d = await eventually(async () => {
        const x = await detail(sent['d-2'].id);
        return x.attempts === 2 ? x : undefined;
      });
      expect(d.status).toBe('succeeded');
    });

    it('a viewer may not retry (403); unknown → 404', async () => {
      expectError(
        await api.call('POST', `/v1/deliveries/${sent['d-3'].id}/retry`, { token: viewer }),
        403,
        'forbidden',
      );
      expectError(await api.call('POST', '/v1/deliveries/dlv_nope/retry', { token: admin }), 404, 'not_found');
    });
  });
});

describe('POST /v1/webhooks/{id}/ping', () => {
  it('→ 200 {delivery_id, status, status_code, duration_ms} after the first attempt; the receiver got the ping', async () => {
    const hook = await webhook({ name: 'pinger', url: rx.url('/ping-hook'), topics: ['alarms'], site_id: 'site-p' });
    const res = await api.call('POST', `/v1/webhooks/${hook.id}/ping`, { token: admin });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      delivery_id: expect.stringMatching(/^dlv_/),
      status: 'succeeded',
      status_code: 200,
      duration_ms: expect.any(Number),
    });
    const got = rx.on('/ping-hook');
    expect(got).toHaveLength(1);
    const body = JSON.parse(got[0].body);
    expect(body).toEqual({
      topic: 'ping',
      events: [{ id: hook.id, name: 'pinger', site_id: 'site-p', timestamp: expect.any(Number) }],
    });
    expect(got[0].headers['webhook-id']).toEqual(expect.any(String));
    expect(got[0].headers['webhook-signature']).toMatch(/^v1,/);
    // it is in the log, as a ping
    const log = await api.call('GET', `/v1/webhooks/${hook.id}/deliveries?topic=ping`, { token: admin });
    expect(log.body.total).toBe(1);
    expect(log.body.deliveries[0]).toMatchObject({ id: res.body.delivery_id, topic: 'ping', status: 'succeeded' });
    const d = await detail(res.body.delivery_id);
    expect(JSON.parse(d.request.body)).toEqual(body);
  });

  it('goes only to its webhook', async () => {
    const a = await webhook({ name: 'ping-a', url: rx.url('/ping-a'), topics: ['alarms', 'deviceauth'] });
    await webhook({ name: 'ping-b', url: rx.url('/ping-b'), topics: ['alarms', 'deviceauth'] });
    expect((await api.call('POST', `/v1/webhooks/${a.id}/ping`, { token: admin })).status).toBe(200);
    expect(rx.on('/ping-a')).toHaveLength(1);
    expect(rx.on('/ping-b')).toHaveLength(0);
    expect(rx.on('/main').some((r) => r.body.includes('"ping"'))).toBe(false);
  });

  it('reports a failed first attempt in the same shape', async () => {
    const hook = await webhook({ name: 'ping-fail', url: rx.url('/ping-fail'), topics: ['alarms'] });
    const res = await api.call('POST', `/v1/webhooks/${hook.id}/ping`, { token: admin });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      delivery_id: expect.any(String),
      status: 'failed',
      status_code: 400,
      duration_ms: expect.any(Number),
    });
  });

  it('a viewer may not ping (403); unknown → 404', async () => {
    const hook = await webhook({ name: 'ping-viewer', url: rx.url('/ping-v'), topics: ['alarms'] });
    expectError(await api.call('POST', `/v1/webhooks/${hook.id}/ping`, { token: viewer }), 403, 'forbidden');
    expectError(await api.call('POST', '/v1/webhooks/wh_nope/ping', { token: admin }), 404, 'not_found');
    expect(rx.on('/ping-v')).toHaveLength(0);
  });
});
