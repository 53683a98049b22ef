/**
 * The whole org's delivery log (GET /v1/deliveries): every webhook's deliveries merged newest
 * first, filtered and paged on the server; and GET /v1/whoami, which tells a key its org and role.
 */
import { eventually } from '../../../test/support/receiver';
import { startStack, type Stack } from '../../../test/support/stack';
import { detailsOf, expectError } from './helpers';

let s: Stack;
let a: any;
let b: any;

beforeAll(async () => {
  s = await startStack(__filename);
  // /b refuses everything with a 400: the delivery fails at once
  s.rx.respond = (r) => (r.path === '/b' ? { status: 400, body: 'no' } : { status: 200, body: 'ok' });
  a = await s.webhook({ name: 'a', url: s.rx.url('/a'), topics: ['deviceauth', 'alarms'] });
  b = await s.webhook({ name: 'b', url: s.rx.url('/b'), topics: ['deviceauth'] });
  for (let i = 0; i < 3; i++) {
    await s.send({ type: 'device-provisioned', data: { id: `dev-${i}` } });
    await s.rx.waitFor(2 * (i + 1));
  }
  await eventually(async () => {
    const r = await s.api.call('GET', '/v1/deliveries?status=pending', { token: s.org.key });
    const all = await s.api.call('GET', '/v1/deliveries', { token: s.org.key });
    expect([all.body.total, r.body.total]).toEqual([6, 0]);
    return true;
  });
});

afterAll(() => s.close());

const list = (query: string, token: string | null = s.org.key) =>
  s.api.call('GET', `/v1/deliveries${query}`, { token });

describe('GET /v1/deliveries', () => {
  it("merges every webhook's deliveries, newest first", async () => {
    const r = await list('');
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ total: 6, offset: 0, limit: 50 });
    const times = r.body.deliveries.map((d: any) => Date.parse(d.created_at));
    expect(times).toEqual([...times].sort((x, y) => y - x));
    expect(new Set(r.body.deliveries.map((d: any) => d.webhook_id))).toEqual(new Set([a.id, b.id]));
    expect(Object.keys(r.body.deliveries[0])).not.toContain('attempt_log');
  });

  it('pages without gaps or repeats', async () => {
    const all = (await list('')).body.deliveries.map((d: any) => d.id);
    const first = await list('?limit=4');
    const second = await list('?limit=4&offset=4');
    expect(first.body.total).toBe(6);
    expect([...first.body.deliveries, ...second.body.deliveries].map((d: any) => d.id)).toEqual(all);
  });

  it('filters by status, status code, topic and time on the server', async () => {
    const failed = await list('?status=failed');
    expect(failed.body.total).toBe(3);
    expect(failed.body.deliveries.every((d: any) => d.webhook_id === b.id && d.status_code === 400)).toBe(true);
    const paged = await list('?status=failed&limit=2&offset=2');
    expect([paged.body.total, paged.body.deliveries.length]).toEqual([3, 1]);
    expect((await list('?status_code=200')).body.total).toBe(3);
    expect((await list('?topic=alarms')).body.total).toBe(0);
    expect((await list('?topic=deviceauth&status=succeeded')).body.total).toBe(3);
    expect((await list(`?since=${new Date(Date.now() + 60_000).toISOString()}`)).body.total).toBe(0);
    expect((await list(`?until=${Date.now() + 60_000}`)).body.total).toBe(6);
  });

  it('is for admin and viewer keys of the org only', async () => {
    const viewer = await s.api.key(s.org.id, 'viewer');
    expect((await list('', viewer)).body.total).toBe(6);
    const producer = await s.api.key(s.org.id, 'producer');
    expectError(await list('', producer), 403, 'forbidden');
    expectError(await list('', null), 401);
    const other = await s.api.org('other', 'admin');
    const r = await list('', other.key);
    expect(r.body).toEqual({ total: 0, offset: 0, limit: 50, deliveries: [] });
  });

  it('refuses bad query parameters with a detail naming each', async () => {
    const r = await list('?status=nope&limit=0&since=yesterday');
    expectError(r, 400, 'invalid_request');
    expect(
      detailsOf(r)
        .map((d) => d.path)
        .sort(),
    ).toEqual(['/limit', '/since', '/status']);
  });
});

describe('GET /v1/whoami', () => {
  it('tells any key its org, role, id and name', async () => {
    const keys = (await s.api.call('GET', `/v1/orgs/${s.org.id}/keys`)).body.keys;
    const admin = keys.find((k: any) => k.role === 'admin');
    expect((await s.api.call('GET', '/v1/whoami', { token: s.org.key })).body).toEqual({
      org_id: s.org.id,
      role: 'admin',
      key_id: admin.id,
      name: admin.name,
    });
    const producer = await s.api.key(s.org.id, 'producer', 'sensor gateway');
    expect((await s.api.call('GET', '/v1/whoami', { token: producer })).body).toMatchObject({
      org_id: s.org.id,
      role: 'producer',
      name: 'sensor gateway',
    });
  });

  it('says root for the root token, and 401 for an unknown key', async () => {
    expect((await s.api.call('GET', '/v1/whoami')).body).toEqual({
      org_id: null,
      role: 'root',
      key_id: null,
      name: null,
    });
    expectError(await s.api.call('GET', '/v1/whoami', { token: 'dh_nope' }), 401, 'unauthorized');
  });
});
