/**
 * Operator endpoints (docs/contract.md §1): /healthz, /readyz, /metrics, /openapi.json, and Bull Board at
 * /admin/queues behind the root token (HTTP Basic with any user name, or Bearer).
 */
import { ROOT, startTestApi, type TestApi } from '../../../test/support/api';
import { testPrefix } from '../../../test/support/redis';
import Redis from 'ioredis';
import { expectError, sleep, startTestApiWith } from './helpers';

const prefix = testPrefix(__filename);
let api: TestApi;
let adminKey: string;

beforeAll(async () => {
  api = await startTestApi(prefix);
  adminKey = (await api.org('ops', 'admin')).key;
});

afterAll(async () => {
  await api.close();
});

const basic = (user: string, password: string) => ({
  authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`,
});

describe('probes', () => {
  it('GET /healthz → 200 without auth', async () => {
    const r = await api.call('GET', '/healthz', { token: null });
    expect(r.status).toBe(200);
    expect(r.body).toEqual({ status: 'ok' });
  });

  it('GET /readyz → 200 while Redis answers', async () => {
    const r = await api.call('GET', '/readyz', { token: null });
    expect(r.status).toBe(200);
    expect(r.body).toEqual({ status: 'ready' });
  });

  it('GET /readyz → 503 when Redis does not answer; /healthz is still 200', async () => {
    // the routes' Redis client points at a loopback port where nothing listens (and never retries)
    const dead = new Redis('redis://127.0.0.1:1', {
      lazyConnect: true,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
    });
    dead.on('error', () => undefined);
    const down = await startTestApiWith(testPrefix(__filename), {}, { redis: dead });
    try {
      const r = await down.call('GET', '/readyz', { token: null });
      expectError(r, 503, 'not_ready');
      expect((await down.call('GET', '/healthz', { token: null })).status).toBe(200);
    } finally {
      await down.close();
      dead.disconnect();
      // the probe's own 1 s deadline timer outlives the answer: let it run out before the file ends
      await sleep(1_100);
    }
  });
});

describe('GET /metrics', () => {
  it('is Prometheus text with the request and event counters', async () => {
    const ev = await api.call('POST', '/v1/events', { token: adminKey, body: { type: 'message', data: {} } });
    expect(ev.status).toBe(202);
    const r = await api.call('GET', '/metrics', { token: null });
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(r.text).toMatch(/^# HELP devhooks_http_requests_total /m);
    expect(r.text).toMatch(/^# TYPE devhooks_http_requests_total counter$/m);
    expect(r.text).toMatch(
      /^devhooks_http_requests_total\{[^}]*route="\/v1\/events"[^}]*status="202"[^}]*\} [1-9]\d*$/m,
    );
    expect(r.text).toMatch(/^# TYPE devhooks_events_accepted_total counter$/m);
    const accepted = /^devhooks_events_accepted_total(?:\{[^}]*\})? (\d+)$/m.exec(r.text);
    expect(accepted).not.toBeNull();
    expect(Number(accepted![1])).toBeGreaterThanOrEqual(1);
    // request labels are route templates, never raw ids or tokens
    expect(r.text).not.toContain(adminKey);
    expect(r.text).not.toContain(ROOT);
  });
});

describe('GET /openapi.json', () => {
  it('→ 200 JSON, an OpenAPI 3.1 description', async () => {
    const r = await api.call('GET', '/openapi.json', { token: null });
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toMatch(/^application\/json/);
    expect(r.body.openapi).toMatch(/^3\.1/);
    expect(typeof r.body.paths).toBe('object');
  });
});

describe('/admin/queues (Bull Board)', () => {
  it('without auth → 401 asking for Basic', async () => {
    const r = await api.call('GET', '/admin/queues', { token: null });
    expectError(r, 401, 'unauthorized');
    expect(r.headers.get('www-authenticate')).toMatch(/^Basic /);
  });

  it.each<[string, Record<string, string>]>([
    ['Basic, any user, the root token as password', basic('ops', ROOT)],
    ['Basic, empty user name', basic('', ROOT)],
    ['Bearer root token', { authorization: `Bearer ${ROOT}` }],
  ])('%s → 200', async (_label, headers) => {
    const r = await api.call('GET', '/admin/queues', { token: null, headers });
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toMatch(/^text\/html/);
    const q = await api.call('GET', '/admin/queues/api/queues', { token: null, headers });
    expect(q.status).toBe(200);
    expect(JSON.stringify(q.body)).toContain('retries');
  });

  it.each<[string, () => Record<string, string>]>([
    ['an API key as Bearer', () => ({ authorization: `Bearer ${adminKey}` })],
    ['an API key as the Basic password', () => basic('ops', adminKey)],
    ['a wrong Basic password', () => basic('ops', 'wrong')],
    ['the root token as the Basic user name', () => basic(ROOT, '')],
    ['the root token without a separator', () => ({ authorization: `Basic ${Buffer.from(ROOT).toString('base64')}` })],
    ['a truncated root token', () => ({ authorization: `Bearer ${ROOT.slice(0, -1)}` })],
  ])('%s → 401', async (_label, headers) => {
    const r = await api.call('GET', '/admin/queues', { token: null, headers: headers() });
    expectError(r, 401, 'unauthorized');
    const q = await api.call('GET', '/admin/queues/api/queues', { token: null, headers: headers() });
    expectError(q, 401, 'unauthorized');
  });
});

describe('unknown routes', () => {
  it('→ 404 in the error shape', async () => {
    expectError(await api.call('GET', '/nope', { token: null }), 404, 'not_found');
    expectError(await api.call('POST', '/healthz', { token: null }), 404, 'not_found');
  });
});
