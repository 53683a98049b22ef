/**
 * The address policy at create and update (docs/contract.md §3, §6): unless
 * DEVHOOKS_ALLOW_PRIVATE_TARGETS=true, a url that is, or resolves to, a loopback, private,
 * link-local, CGNAT, multicast or reserved address is refused with 422 before any connection.
 *
 * No worker runs here, so no url is ever dialled. IP literals and `localhost` names are judged by
 * the API's own check without DNS; names that must "resolve" go through the real checkTarget with
 * a fake `lookup` (no real DNS is ever asked).
 */
import type { LookupAddress } from 'node:dns';
import { checkTarget } from '@devhooks/engine';
import { startTestApi, type TestApi } from '../../../test/support/api';
import { testPrefix, testRedis } from '../../../test/support/redis';
import { detailsOf, expectError, fingerprint, startTestApiWith } from './helpers';

const redis = testRedis();
const strictPrefix = testPrefix(__filename);
const dnsPrefix = testPrefix(__filename);
const laxPrefix = testPrefix(__filename);
let strict: TestApi;
let viaDns: TestApi;
let lax: TestApi;
const keys = { strict: '', dns: '', lax: '' };

/** What the fake resolver answers, by name; any other name fails as NXDOMAIN. */
const ZONE: Record<string, string[]> = {
  'public.example.test': ['93.184.215.14'],
  'public6.example.test': ['2606:2800:21f:cb07:6820:80da:af6b:8b2c'],
  'internal.example.test': ['10.0.0.7'],
  'loop.example.test': ['127.0.0.1'],
  'metadata.example.test': ['169.254.169.254'],
  'cgnat.example.test': ['100.64.1.2'],
  'v6loop.example.test': ['::1'],
  'ula.example.test': ['fd00::5'],
  'mixed.example.test': ['93.184.215.14', '192.168.1.10'],
};
const lookedUp: string[] = [];

async function fakeLookup(hostname: string): Promise<LookupAddress[]> {
  lookedUp.push(hostname);
  const addrs = ZONE[hostname];
  if (!addrs) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' });
  return addrs.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
}

const lookup = fakeLookup as unknown as Parameters<typeof checkTarget>[1];

beforeAll(async () => {
  strict = await startTestApi(strictPrefix);
  viaDns = await startTestApiWith(dnsPrefix, {}, { checkTarget: (url) => checkTarget(url, lookup) });
  lax = await startTestApi(laxPrefix, { DEVHOOKS_ALLOW_PRIVATE_TARGETS: 'true' });
  keys.strict = (await strict.org('strict')).key;
  keys.dns = (await viaDns.org('dns')).key;
  keys.lax = (await lax.org('lax')).key;
});

afterAll(async () => {
  await strict.close();
  await viaDns.close();
  await lax.close();
  redis.disconnect();
});

const hook = (url: string) => ({ name: 'target', url, topics: ['deviceauth'] });

/** Refused literal addresses and local names: none needs DNS. */
const REFUSED: string[] = [
  'http://127.0.0.1/hook',
  'http://127.0.0.1:8080/hook',
  'https://127.10.20.30/',
  'http://localhost/hook',
  'http://LOCALHOST:3000/',
  'http://localhost./',
  'http://api.localhost/',
  'http://localhost.localdomain/',
  'http://10.0.0.1/',
  'http://10.255.255.254/',
  'http://172.16.0.1/',
  'http://172.31.255.254/',
  'http://192.168.1.1/',
  'http://169.254.169.254/latest/meta-data/',
  'http://100.64.0.1/',
  'http://0.0.0.0/',
  'http://224.0.0.1/',
  'http://255.255.255.255/',
  'http://192.0.2.10/',
  'http://198.18.0.1/',
  'http://240.0.0.1/',
  'http://[::1]/',
  'http://[::1]:9000/hook',
  'http://[::]/',
  'http://[fe80::1]/',
  'http://[fc00::1]/',
  'http://[fd12:3456::1]/',
  'http://[ff02::1]/',
  'http://[::ffff:127.0.0.1]/',
  'http://[::ffff:10.0.0.1]/',
  'http://[64:ff9b::a00:1]/',
  'http://[2001:db8::1]/',
  'http://0x7f000001/',
  'http://2130706433/',
  'http://127.1/',
];

/** Public literals: accepted (and never dialled: no worker runs here). */
const PUBLIC: string[] = ['http://93.184.215.14/hook', 'https://8.8.8.8:8443/x', 'https://[2606:4700:4700::1111]/hook'];

describe('refused at create with 422, nothing written', () => {
  it.each(REFUSED)('%s', async (url) => {
    const fp = await fingerprint(redis, strictPrefix);
    const res = await strict.call('POST', '/v1/webhooks', { token: keys.strict, body: hook(url) });
    expectError(res, 422, 'target_refused');
    expect(detailsOf(res)).toEqual([{ path: '/url', message: expect.stringMatching(/^refused: /) }]);
    expect(await fingerprint(redis, strictPrefix)).toEqual(fp);
  });
});

describe('public literals are accepted', () => {
  it.each(PUBLIC)('%s → 201', async (url) => {
    const res = await strict.call('POST', '/v1/webhooks', { token: keys.strict, body: hook(url) });
    expect({ status: res.status, text: res.text }).toMatchObject({ status: 201 });
    expect(res.body.url).toBe(url);
  });
});

describe('refused at update (PUT and PATCH), the webhook unchanged', () => {
  let id: string;
  let before: unknown;
  beforeAll(async () => {
    const res = await strict.call('POST', '/v1/webhooks', {
      token: keys.strict,
      body: hook('http://93.184.215.14/ok'),
    });
    id = res.body.id;
    before = (await strict.call('GET', `/v1/webhooks/${id}`, { token: keys.strict })).body;
  });

  it.each([
    'http://127.0.0.1/x',
    'http://localhost/x',
    'http://10.1.2.3/x',
    'http://192.168.0.10/x',
    'http://169.254.1.1/x',
    'http://[::1]/x',
  ])('PUT %s → 422', async (url) => {
    const res = await strict.call('PUT', `/v1/webhooks/${id}`, { token: keys.strict, body: hook(url) });
    expectError(res, 422, 'target_refused');
    expect(detailsOf(res)).toEqual([{ path: '/url', message: expect.any(String) }]);
    expect((await strict.call('GET', `/v1/webhooks/${id}`, { token: keys.strict })).body).toEqual(before);
  });

  it.each(['http://127.0.0.1/x', 'http://localhost/x', 'http://172.20.0.1/x', 'http://[fe80::2]/x'])(
    'PATCH url %s → 422',
    async (url) => {
      const res = await strict.call('PATCH', `/v1/webhooks/${id}`, { token: keys.strict, body: { url } });
      expectError(res, 422, 'target_refused');
      expect((await strict.call('GET', `/v1/webhooks/${id}`, { token: keys.strict })).body).toEqual(before);
    },
  );

  it('a PATCH that leaves the url alone is not checked again; a public url is accepted', async () => {
    const p = await strict.call('PATCH', `/v1/webhooks/${id}`, { token: keys.strict, body: { name: 'renamed' } });
    expect(p.status).toBe(200);
    const u = await strict.call('PATCH', `/v1/webhooks/${id}`, {
      token: keys.strict,
      body: { url: 'https://93.184.215.14/new' },
    });
    expect(u).toMatchObject({ status: 200, body: { url: 'https://93.184.215.14/new' } });
  });
});

describe('a batch with one refused url', () => {
  it('→ 422 naming its index, and none is created', async () => {
    const count = async () => (await strict.call('GET', '/v1/webhooks?limit=200', { token: keys.strict })).body.total;
    const before = await count();
    const fp = await fingerprint(redis, strictPrefix);
    const res = await strict.call('POST', '/v1/webhooks', {
      token: keys.strict,
      body: { webhooks: [hook('http://93.184.215.14/a'), hook('http://192.168.1.1/b'), hook('http://8.8.8.8/c')] },
    });
    expectError(res, 422, 'target_refused');
    expect(detailsOf(res)).toEqual([{ index: 1, path: '/url', message: expect.any(String) }]);
    expect(await count()).toBe(before);
    expect(await fingerprint(redis, strictPrefix)).toEqual(fp);
  });
});

describe('names are judged by what they resolve to (fake resolver)', () => {
  it.each<[string, number]>([
    ['https://public.example.test/hook', 201],
    ['https://public6.example.test/hook', 201],
    ['http://internal.example.test/hook', 422],
    ['http://loop.example.test/hook', 422],
    ['http://metadata.example.test/', 422],
    ['http://cgnat.example.test/', 422],
    ['http://v6loop.example.test/', 422],
    ['http://ula.example.test/', 422],
    // one refused address among the answers is enough to refuse
    ['http://mixed.example.test/', 422],
    // a name that does not resolve now is accepted: every attempt checks the address it dials
    ['https://nxdomain.example.test/', 201],
  ])('%s → %i', async (url, status) => {
    const res = await viaDns.call('POST', '/v1/webhooks', { token: keys.dns, body: hook(url) });
    if (status === 422) {
      expectError(res, 422, 'target_refused');
      expect(detailsOf(res)[0]).toMatchObject({
        path: '/url',
        message: expect.stringContaining(new URL(url).hostname),
      });
    } else {
      expect({ status: res.status, text: res.text }).toMatchObject({ status });
    }
    expect(lookedUp).toContain(new URL(url).hostname);
  });

  it('update to a name resolving to a private address → 422', async () => {
    const w = await viaDns.call('POST', '/v1/webhooks', {
      token: keys.dns,
      body: hook('https://public.example.test/'),
    });
    expect(w.status).toBe(201);
    expectError(
      await viaDns.call('PUT', `/v1/webhooks/${w.body.id}`, {
        token: keys.dns,
        body: hook('http://internal.example.test/'),
      }),
      422,
      'target_refused',
    );
    expectError(
      await viaDns.call('PATCH', `/v1/webhooks/${w.body.id}`, {
        token: keys.dns,
        body: { url: 'http://loop.example.test/' },
      }),
      422,
      'target_refused',
    );
    const got = await viaDns.call('GET', `/v1/webhooks/${w.body.id}`, { token: keys.dns });
    expect(got.body.url).toBe('https://public.example.test/');
  });

  it('localhost and literals are refused without asking the resolver', async () => {
    const n = lookedUp.length;
    expectError(
      await viaDns.call('POST', '/v1/webhooks', { token: keys.dns, body: hook('http://localhost/') }),
      422,
      'target_refused',
    );
    expectError(
      await viaDns.call('POST', '/v1/webhooks', { token: keys.dns, body: hook('http://10.9.8.7/') }),
      422,
      'target_refused',
    );
    expect(lookedUp.length).toBe(n);
  });

  it('checkTarget itself, with the fake resolver', async () => {
    await expect(checkTarget('http://internal.example.test/', lookup)).resolves.toEqual({
      ok: false,
      reason: expect.stringContaining('10.0.0.7'),
    });
    await expect(checkTarget('http://public.example.test/', lookup)).resolves.toEqual({ ok: true });
    await expect(checkTarget('http://nxdomain.example.test/', lookup)).resolves.toEqual({ ok: true, unresolved: true });
    await expect(checkTarget('http://[::1]/', lookup)).resolves.toMatchObject({ ok: false });
  });
});

describe('DEVHOOKS_ALLOW_PRIVATE_TARGETS=true allows them', () => {
  it.each([
    'http://127.0.0.1/hook',
    'http://localhost:8080/hook',
    'http://10.0.0.1/',
    'http://192.168.1.1/',
    'http://172.16.5.4/',
    'http://169.254.169.254/',
    'http://[::1]/',
  ])('%s → 201', async (url) => {
    const res = await lax.call('POST', '/v1/webhooks', { token: keys.lax, body: hook(url) });
    expect({ status: res.status, text: res.text }).toMatchObject({ status: 201 });
    const upd = await lax.call('PUT', `/v1/webhooks/${res.body.id}`, {
      token: keys.lax,
      body: hook(url.replace(/\/$/, '') + '/v2'),
    });
    expect(upd.status).toBe(200);
  });
});
