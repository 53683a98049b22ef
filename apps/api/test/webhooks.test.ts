/**
 * Webhooks (docs/contract.md §3): create one or a batch, list with filters and paging, read, replace,
 * patch, delete one or many, and every field rule of the table. The address policy has its own
 * file (address-policy.test.ts); here private targets are allowed and no worker runs, so the
 * loopback urls below are never dialled.
 */
import { randomBytes } from 'node:crypto';
import { startTestApi, type CallResult, type TestApi } from '../../../test/support/api';
import { testPrefix, testRedis } from '../../../test/support/redis';
import { detailsOf, expectError, fingerprint, storedWebhook } from './helpers';

const prefix = testPrefix(__filename);
const redis = testRedis();
let api: TestApi;
let org: string;
let admin: string;
let viewer: string;

const URL_ = 'http://127.0.0.1:9/hook';
const BASE = { name: 'hook', url: URL_, topics: ['deviceauth'] };
const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/;
const whsec = (bytes: number) => 'whsec_' + randomBytes(bytes).toString('base64');

beforeAll(async () => {
  api = await startTestApi(prefix, { DEVHOOKS_ALLOW_PRIVATE_TARGETS: 'true' });
  const o = await api.org('hooks', 'admin');
  org = o.id;
  admin = o.key;
  viewer = await api.key(org, 'viewer');
});

afterAll(async () => {
  await api.close();
  redis.disconnect();
});

async function create(body: unknown, token = admin): Promise<CallResult> {
  return api.call('POST', '/v1/webhooks', { token, body });
}

async function createOk(body: Record<string, unknown> = {}): Promise<any> {
  const r = await create({ ...BASE, ...body });
  if (r.status !== 201) throw new Error(`create: ${r.status} ${r.text}`);
  return r.body;
}

async function total(token = admin): Promise<number> {
  const r = await api.call('GET', '/v1/webhooks?limit=200', { token });
  return r.body.total;
}

/** BASE with `over` applied; an `undefined` value removes the field. */
function withFields(over: Record<string, unknown>): Record<string, unknown> {
  const b: Record<string, unknown> = { ...BASE, ...over };
  for (const [k, v] of Object.entries(over)) if (v === undefined) delete b[k];
  return b;
}

describe('create one', () => {
  it('→ 201 with the webhook, its read-only fields, and the generated secret once', async () => {
    const res = await create({
      ...BASE,
      site_id: 's1',
      group_id: 'g1',
      headers: { 'X-Api-Key': 'abc' },
      metadata: { team: 'ops' },
    });
    expect(res.status).toBe(201);
    expect(res.body).toEqual({
      id: expect.stringMatching(/^wh_[a-z0-9]+$/),
      org_id: org,
      name: 'hook',
      url: URL_,
      topics: ['deviceauth'],
      site_id: 's1',
      group_id: 'g1',
      headers: { 'X-Api-Key': '***' }, // header values are write-only (header-values.test.ts)
      signing: 'standard',
      enabled: true,
      single_event_per_message: false,
      ordering: 'none',
      metadata: { team: 'ops' },
      created_at: expect.stringMatching(ISO),
      updated_at: expect.stringMatching(ISO),
      has_secret: true,
      secret: expect.stringMatching(/^whsec_[A-Za-z0-9+/]+=*$/),
    });
    const n = Buffer.from(res.body.secret.slice(6), 'base64').length;
    expect(n).toBeGreaterThanOrEqual(24);
    expect(n).toBeLessThanOrEqual(64);
    // it is the secret the service signs with
    expect((await storedWebhook(redis, prefix, org, res.body.id))?.secret).toBe(res.body.secret);
  });

  it('the secret is never read back: GET (admin, viewer) and the list', async () => {
    const created = await create(BASE);
    const secret: string = created.body.secret;
    const { secret: _s, ...view } = created.body;
    for (const token of [admin, viewer]) {
      const one = await api.call('GET', `/v1/webhooks/${created.body.id}`, { token });
      expect(one.status).toBe(200);
      expect(one.body).toEqual(view);
      expect(one.body).not.toHaveProperty('secret');
      expect(one.text).not.toContain(secret);
      expect(one.text).not.toContain(secret.slice(6));
      const list = await api.call('GET', '/v1/webhooks?limit=200', { token });
      expect(list.status).toBe(200);
      expect(list.body.webhooks).toContainEqual(view);
      for (const w of list.body.webhooks) expect(w).not.toHaveProperty('secret');
      expect(list.text).not.toContain(secret.slice(6));
    }
  });

  it('a given standard secret is kept as given and not echoed back', async () => {
    const secret = whsec(32);
    const res = await create({ ...BASE, secret });
    expect(res.status).toBe(201);
    expect(res.body.has_secret).toBe(true);
    expect(res.text).not.toContain(secret);
    expect((await storedWebhook(redis, prefix, org, res.body.id))?.secret).toBe(secret);
  });

  it.each<[string, string | undefined, boolean]>([
    ['mender without a secret', undefined, false],
    ['mender with a hex secret', 'deadbeef', true],
    ['mist without a secret', undefined, false],
    ['mist with a secret', 'mist-secret', true],
  ])('%s', async (label, secret, has) => {
    const signing = label.split(' ')[0];
    const res = await create({ ...BASE, signing, ...(secret ? { secret } : {}) });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ signing, has_secret: has });
    expect(res.body).not.toHaveProperty('secret');
    expect((await storedWebhook(redis, prefix, org, res.body.id))?.secret).toBe(secret);
  });

  it('defaults: signing standard, enabled true, single_event_per_message false, headers {}', async () => {
    const w = await createOk();
    expect(w).toMatchObject({ signing: 'standard', enabled: true, single_event_per_message: false, headers: {} });
    expect(w).not.toHaveProperty('site_id');
    expect(w).not.toHaveProperty('group_id');
    expect(w).not.toHaveProperty('metadata');
    expect(w).not.toHaveProperty('disabled_reason');
  });
});

describe('create a batch', () => {
  it('→ 201 {"webhooks": [...]}, each with its own id and secret', async () => {
    const before = await total();
    const res = await create({
      webhooks: [
        { ...BASE, name: 'b1' },
        { ...BASE, name: 'b2', topics: ['alarms'] },
      ],
    });
    expect(res.status).toBe(201);
    expect(Object.keys(res.body)).toEqual(['webhooks']);
    expect(res.body.webhooks).toHaveLength(2);
    expect(res.body.webhooks.map((w: { name: string }) => w.name)).toEqual(['b1', 'b2']);
    const [a, b] = res.body.webhooks;
    expect(a.id).not.toBe(b.id);
    expect(a.secret).toMatch(/^whsec_/);
    expect(b.secret).toMatch(/^whsec_/);
    expect(a.secret).not.toBe(b.secret);
    expect(await total()).toBe(before + 2);
    for (const w of res.body.webhooks) {
      const got = await api.call('GET', `/v1/webhooks/${w.id}`, { token: admin });
      expect(got.status).toBe(200);
      expect(got.text).not.toContain(w.secret);
    }
  });

  it('one bad webhook → 400 naming its index, and none is created', async () => {
    const before = await total();
    const fp = await fingerprint(redis, prefix);
    const res = await create({
      webhooks: [
        { ...BASE, name: 'ok-1' },
        { ...BASE, url: 'ftp://x' },
        { ...BASE, name: 'ok-2' },
      ],
    });
    expectError(res, 400, 'invalid_request');
    expect(detailsOf(res)).toEqual([{ index: 1, path: '/url', message: expect.any(String) }]);
    expect(await total()).toBe(before);
    expect(await fingerprint(redis, prefix)).toEqual(fp);
    const list = await api.call('GET', '/v1/webhooks?limit=200', { token: admin });
    expect(list.body.webhooks.map((w: { name: string }) => w.name)).not.toContain('ok-1');
  });

  it('several bad webhooks → every one named by index', async () => {
    const before = await total();
    const res = await create({ webhooks: [{ ...BASE, name: '' }, BASE, { ...BASE, topics: [] }] });
    expectError(res, 400, 'invalid_request');
    const d = detailsOf(res);
    expect(d).toContainEqual({ index: 0, path: '/name', message: expect.any(String) });
    expect(d).toContainEqual({ index: 2, path: '/topics', message: expect.any(String) });
    expect(d.every((x) => x.index === 0 || x.index === 2)).toBe(true);
    expect(await total()).toBe(before);
  });

  it.each<[string, unknown]>([
    ['an empty array', { webhooks: [] }],
    ['not an array', { webhooks: { name: 'x' } }],
    ['a non-object item', { webhooks: ['x'] }],
  ])('%s → 400, none created', async (_label, body) => {
    const before = await total();
    expectError(await create(body), 400, 'invalid_request');
    expect(await total()).toBe(before);
  });
});

describe('list', () => {
  let token: string;
  const ids: Record<string, string> = {};
  beforeAll(async () => {
    const o = await api.org('list-org', 'admin');
    token = o.key;
    const defs: Record<string, Record<string, unknown>> = {
      w1: { site_id: 's1', group_id: 'g1', topics: ['deviceauth'] },
      w2: { site_id: 's1', topics: ['inventory', 'alarms'] },
      w3: { site_id: 's2', group_id: 'g1', topics: ['alarms'] },
      w4: { topics: ['messages'] },
      w5: { topics: ['deviceauth', 'messages'] },
    };
    for (const [name, d] of Object.entries(defs)) {
      const r = await api.call('POST', '/v1/webhooks', { token, body: { ...BASE, name, ...d } });
      ids[name] = r.body.id;
    }
  });

  const names = (r: CallResult) => r.body.webhooks.map((w: { name: string }) => w.name).sort();

  it('→ {total, offset, limit, webhooks}, default offset 0 and limit 50', async () => {
    const r = await api.call('GET', '/v1/webhooks', { token });
    expect(r.status).toBe(200);
    expect(Object.keys(r.body).sort()).toEqual(['limit', 'offset', 'total', 'webhooks']);
    expect(r.body).toMatchObject({ total: 5, offset: 0, limit: 50 });
    expect(names(r)).toEqual(['w1', 'w2', 'w3', 'w4', 'w5']);
  });

  it.each<[string, string[]]>([
    ['site_id=s1', ['w1', 'w2']],
    ['site_id=s2', ['w3']],
    ['site_id=nowhere', []],
    ['group_id=g1', ['w1', 'w3']],
    ['site_id=s1&group_id=g1', ['w1']],
    ['topic=alarms', ['w2', 'w3']],
    ['topic=messages', ['w4', 'w5']],
    ['topic=deviceauth&site_id=s1', ['w1']],
    ['topic=audits', []],
  ])('?%s', async (query, expected) => {
    const r = await api.call('GET', `/v1/webhooks?${query}`, { token });
    expect(r.status).toBe(200);
    expect(names(r)).toEqual(expected);
    expect(r.body.total).toBe(expected.length);
  });

  it('pages: offset and limit walk every webhook once, total stays the full count', async () => {
    const seen: string[] = [];
    for (let offset = 0; offset < 6; offset += 2) {
      const r = await api.call('GET', `/v1/webhooks?offset=${offset}&limit=2`, { token });
      expect(r.body).toMatchObject({ total: 5, offset, limit: 2 });
      expect(r.body.webhooks.length).toBe(offset === 4 ? 1 : 2);
      seen.push(...r.body.webhooks.map((w: { id: string }) => w.id));
    }
    expect(seen.sort()).toEqual(Object.values(ids).sort());
    const past = await api.call('GET', '/v1/webhooks?offset=10&limit=2', { token });
    expect(past.body).toMatchObject({ total: 5, offset: 10, limit: 2, webhooks: [] });
  });

  it('paging applies after filtering', async () => {
    const r = await api.call('GET', '/v1/webhooks?topic=messages&offset=1&limit=1', { token });
    expect(r.body).toMatchObject({ total: 2, offset: 1, limit: 1 });
    expect(r.body.webhooks).toHaveLength(1);
  });

  it('limit=200 is accepted', async () => {
    const r = await api.call('GET', '/v1/webhooks?limit=200', { token });
    expect(r.body).toMatchObject({ total: 5, limit: 200 });
  });

  it.each<[string, string]>([
    ['limit=201', '/limit'],
    ['limit=1000', '/limit'],
    ['limit=0', '/limit'],
    ['limit=-1', '/limit'],
    ['limit=ten', '/limit'],
    ['limit=1.5', '/limit'],
    ['offset=-1', '/offset'],
    ['offset=x', '/offset'],
    ['limit=1&limit=2', '/limit'],
    ['topic=nope', '/topic'],
    ['topic=ping', '/topic'],
    ['site_id=' + 's'.repeat(300), '/site_id'],
  ])('?%s → 400 naming %s', async (query, path) => {
    const r = await api.call('GET', `/v1/webhooks?${query}`, { token });
    expectError(r, 400, 'invalid_request');
    expect(detailsOf(r)).toContainEqual({ path, message: expect.any(String) });
  });
});

describe('GET one', () => {
  it('→ 200 the webhook; unknown → 404', async () => {
    const w = await createOk({ name: 'one' });
    const r = await api.call('GET', `/v1/webhooks/${w.id}`, { token: viewer });
    expect(r).toMatchObject({ status: 200, body: { id: w.id, name: 'one', has_secret: true } });
    expectError(await api.call('GET', '/v1/webhooks/wh_nope', { token: viewer }), 404, 'not_found');
  });
});

describe('PUT (full replace)', () => {
  it('replaces every field, resetting the absent ones, and keeps the secret when none is given', async () => {
    const w = await createOk({
      name: 'before',
      site_id: 's1',
      group_id: 'g1',
      headers: { 'X-A': '1' },
      metadata: { a: 1 },
      single_event_per_message: true,
      enabled: false,
      topics: ['alarms'],
    });
    const res = await api.call('PUT', `/v1/webhooks/${w.id}`, {
      token: admin,
      body: { name: 'after', url: 'http://127.0.0.1:9/other', topics: ['inventory', 'audits'] },
    });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      id: w.id,
      org_id: org,
      name: 'after',
      url: 'http://127.0.0.1:9/other',
      topics: ['inventory', 'audits'],
      headers: {},
      signing: 'standard',
      enabled: true,
      single_event_per_message: false,
      ordering: 'none',
      created_at: w.created_at,
      updated_at: expect.stringMatching(ISO),
      has_secret: true,
    });
    expect(Date.parse(res.body.updated_at)).toBeGreaterThanOrEqual(Date.parse(w.created_at));
    expect((await storedWebhook(redis, prefix, org, w.id))?.secret).toBe(w.secret);
    const got = await api.call('GET', `/v1/webhooks/${w.id}`, { token: admin });
    expect(got.body).toEqual(res.body);
  });

  it('a given secret replaces the old one, without being echoed', async () => {
    const w = await createOk();
    const secret = whsec(24);
    const res = await api.call('PUT', `/v1/webhooks/${w.id}`, { token: admin, body: { ...BASE, secret } });
    expect(res.status).toBe(200);
    expect(res.text).not.toContain(secret);
    expect(res.body).not.toHaveProperty('secret');
    expect((await storedWebhook(redis, prefix, org, w.id))?.secret).toBe(secret);
  });

  it('a GET body can be PUT back as it is (read-only fields are ignored)', async () => {
    const w = await createOk({ site_id: 'x' });
    const got = await api.call('GET', `/v1/webhooks/${w.id}`, { token: admin });
    const res = await api.call('PUT', `/v1/webhooks/${w.id}`, { token: admin, body: { ...got.body, name: 'renamed' } });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ id: w.id, name: 'renamed', site_id: 'x', created_at: w.created_at });
    expect((await storedWebhook(redis, prefix, org, w.id))?.secret).toBe(w.secret);
  });

  it('an invalid body → 400 and the webhook is unchanged', async () => {
    const w = await createOk();
    const before = await api.call('GET', `/v1/webhooks/${w.id}`, { token: admin });
    const res = await api.call('PUT', `/v1/webhooks/${w.id}`, { token: admin, body: { name: 'x', url: URL_ } });
    expectError(res, 400, 'invalid_request');
    expect(detailsOf(res)).toContainEqual({ path: '/topics', message: expect.any(String) });
    expect((await api.call('GET', `/v1/webhooks/${w.id}`, { token: admin })).body).toEqual(before.body);
  });

  it('unknown id → 404; no body → 400', async () => {
    expectError(await api.call('PUT', '/v1/webhooks/wh_nope', { token: admin, body: BASE }), 404, 'not_found');
    const w = await createOk();
    expectError(await api.call('PUT', `/v1/webhooks/${w.id}`, { token: admin }), 400, 'invalid_request');
  });
});

describe('PATCH (partial)', () => {
  it('{"enabled": false} changes only enabled (and updated_at)', async () => {
    const w = await createOk({ site_id: 's', headers: { 'X-K': 'v' }, metadata: { m: true } });
    const { secret: _s, ...view } = w;
    const res = await api.call('PATCH', `/v1/webhooks/${w.id}`, { token: admin, body: { enabled: false } });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ ...view, enabled: false, updated_at: expect.stringMatching(ISO) });
    expect((await api.call('GET', `/v1/webhooks/${w.id}`, { token: admin })).body).toEqual(res.body);
    expect((await storedWebhook(redis, prefix, org, w.id))?.secret).toBe(w.secret);
    const back = await api.call('PATCH', `/v1/webhooks/${w.id}`, { token: admin, body: { enabled: true } });
    expect(back.body.enabled).toBe(true);
  });

  it('changes several fields at once; null clears an optional field', async () => {
    const w = await createOk({ site_id: 's', group_id: 'g' });
    const res = await api.call('PATCH', `/v1/webhooks/${w.id}`, {
      token: admin,
      body: { name: 'patched', topics: ['messages'], site_id: null },
    });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ name: 'patched', topics: ['messages'], group_id: 'g', url: URL_ });
    expect(res.body).not.toHaveProperty('site_id');
  });

  it.each<[string, unknown, string]>([
    ['empty topics', { topics: [] }, '/topics'],
    ['a bad url', { url: 'gopher://x' }, '/url'],
    ['a long name', { name: 'n'.repeat(101) }, '/name'],
    ['a forbidden header', { headers: { Host: 'x' } }, '/headers/Host'],
    ['a bad enabled', { enabled: 'no' }, '/enabled'],
    ['an unknown field', { colour: 'red' }, '/colour'],
  ])('%s → 400, unchanged', async (_label, body, path) => {
    const w = await createOk();
    const before = (await api.call('GET', `/v1/webhooks/${w.id}`, { token: admin })).body;
    const res = await api.call('PATCH', `/v1/webhooks/${w.id}`, { token: admin, body });
    expectError(res, 400, 'invalid_request');
    expect(detailsOf(res)).toContainEqual({ path, message: expect.any(String) });
    expect((await api.call('GET', `/v1/webhooks/${w.id}`, { token: admin })).body).toEqual(before);
  });

  it('an empty patch → 400; unknown id → 404', async () => {
    const w = await createOk();
    expectError(await api.call('PATCH', `/v1/webhooks/${w.id}`, { token: admin, body: {} }), 400, 'invalid_request');
    expectError(
      await api.call('PATCH', '/v1/webhooks/wh_nope', { token: admin, body: { enabled: false } }),
      404,
      'not_found',
    );
  });
});

describe('DELETE', () => {
  it('one → 204 with no body; then GET and DELETE → 404; gone from the list', async () => {
    const w = await createOk({ name: 'to-delete' });
    const del = await api.call('DELETE', `/v1/webhooks/${w.id}`, { token: admin });
    expect(del.status).toBe(204);
    expect(del.text).toBe('');
    expectError(await api.call('GET', `/v1/webhooks/${w.id}`, { token: admin }), 404, 'not_found');
    expectError(await api.call('DELETE', `/v1/webhooks/${w.id}`, { token: admin }), 404, 'not_found');
    const list = await api.call('GET', '/v1/webhooks?limit=200', { token: admin });
    expect(list.body.webhooks.map((x: { id: string }) => x.id)).not.toContain(w.id);
  });

  it('many by webhook_ids → 204; the others stay', async () => {
    const [a, b, c] = [await createOk(), await createOk(), await createOk()];
    const del = await api.call('DELETE', '/v1/webhooks', { token: admin, body: { webhook_ids: [a.id, b.id] } });
    expect(del.status).toBe(204);
    expect(del.text).toBe('');
    expect((await api.call('GET', `/v1/webhooks/${a.id}`, { token: admin })).status).toBe(404);
    expect((await api.call('GET', `/v1/webhooks/${b.id}`, { token: admin })).status).toBe(404);
    expect((await api.call('GET', `/v1/webhooks/${c.id}`, { token: admin })).status).toBe(200);
  });

  it('many with an unknown id → 404 naming it, and nothing is deleted', async () => {
    const [a, b] = [await createOk(), await createOk()];
    const before = await total();
    const fp = await fingerprint(redis, prefix);
    const res = await api.call('DELETE', '/v1/webhooks', {
      token: admin,
      body: { webhook_ids: [a.id, 'wh_nope', b.id] },
    });
    expectError(res, 404, 'not_found');
    expect(detailsOf(res)).toEqual([{ index: 1, path: '/webhook_ids/1', message: expect.stringContaining('wh_nope') }]);
    expect(await total()).toBe(before);
    expect(await fingerprint(redis, prefix)).toEqual(fp);
    expect((await api.call('GET', `/v1/webhooks/${a.id}`, { token: admin })).status).toBe(200);
    expect((await api.call('GET', `/v1/webhooks/${b.id}`, { token: admin })).status).toBe(200);
  });

  it.each<[string, unknown]>([
    ['no body', undefined],
    ['empty webhook_ids', { webhook_ids: [] }],
    ['webhook_ids not an array', { webhook_ids: 'wh_x' }],
    ['non-string ids', { webhook_ids: [1] }],
    ['an unknown field', { webhook_ids: ['wh_x'], all: true }],
  ])('many with %s → 400', async (_label, body) => {
    const before = await total();
    expectError(await api.call('DELETE', '/v1/webhooks', { token: admin, body }), 400, 'invalid_request');
    expect(await total()).toBe(before);
  });
});

/** [label, fields over BASE (undefined removes), the path the 400 names] */
const BAD: Array<[string, Record<string, unknown>, string]> = [
  ['no name', { name: undefined }, '/name'],
  ['an empty name', { name: '' }, '/name'],
  ['a 101-character name', { name: 'n'.repeat(101) }, '/name'],
  ['a numeric name', { name: 7 }, '/name'],
  ['no url', { url: undefined }, '/url'],
  ['an empty url', { url: '' }, '/url'],
  ['an ftp url', { url: 'ftp://127.0.0.1/x' }, '/url'],
  ['a mailto url', { url: 'mailto:ops@127.0.0.1' }, '/url'],
  ['a relative url', { url: '/hooks/1' }, '/url'],
  ['not a url', { url: 'not a url' }, '/url'],
  ['a url of 2049 characters', { url: 'http://127.0.0.1/' + 'a'.repeat(2049 - 17) }, '/url'],
  ['a url with credentials', { url: 'http://user:pw@127.0.0.1/x' }, '/url'],
  ['a numeric url', { url: 8080 }, '/url'],
  ['no topics', { topics: undefined }, '/topics'],
  ['empty topics', { topics: [] }, '/topics'],
  ['an unknown topic', { topics: ['deviceauth', 'weather'] }, '/topics/1'],
  ['the ping topic', { topics: ['ping'] }, '/topics/0'],
  ['topics as a string', { topics: 'deviceauth' }, '/topics'],
  ['a repeated topic', { topics: ['alarms', 'alarms'] }, '/topics'],
  ['a numeric site_id', { site_id: 5 }, '/site_id'],
  ['an empty site_id', { site_id: '' }, '/site_id'],
  ['an array group_id', { group_id: ['g'] }, '/group_id'],
  ['headers as a string', { headers: 'X-A: 1' }, '/headers'],
  ['a numeric header value', { headers: { 'X-A': 1 } }, '/headers/X-A'],
  ['a Host header', { headers: { Host: 'example.com' } }, '/headers/Host'],
  ['a host header (lower case)', { headers: { host: 'example.com' } }, '/headers/host'],
  ['a Content-Length header', { headers: { 'Content-Length': '1' } }, '/headers/Content-Length'],
  ['a Transfer-Encoding header', { headers: { 'Transfer-Encoding': 'chunked' } }, '/headers/Transfer-Encoding'],
  ['a Connection header', { headers: { Connection: 'close' } }, '/headers/Connection'],
  ['a webhook-signature header', { headers: { 'webhook-signature': 'v1,x' } }, '/headers/webhook-signature'],
  ['a Webhook-Id header', { headers: { 'Webhook-Id': 'x' } }, '/headers/Webhook-Id'],
  ['a webhook-timestamp header', { headers: { 'webhook-timestamp': '1' } }, '/headers/webhook-timestamp'],
  ['any webhook-* header', { headers: { 'Webhook-Anything': 'x' } }, '/headers/Webhook-Anything'],
  ['an X-Men-Signature header', { headers: { 'X-Men-Signature': 'x' } }, '/headers/X-Men-Signature'],
  ['an X-Mist-Signature header', { headers: { 'X-Mist-Signature': 'x' } }, '/headers/X-Mist-Signature'],
  ['an X-Mist-Signature-v2 header', { headers: { 'X-Mist-Signature-v2': 'x' } }, '/headers/X-Mist-Signature-v2'],
  ['a header name with a space', { headers: { 'X Bad': 'x' } }, '/headers/X Bad'],
  ['a header value with a line break', { headers: { 'X-A': 'a\r\nX-Injected: 1' } }, '/headers/X-A'],
  ['headers over 4 KiB (one)', { headers: { 'X-Big': 'a'.repeat(4100) } }, '/headers'],
  [
    'headers over 4 KiB (in all)',
    { headers: Object.fromEntries([1, 2, 3, 4, 5].map((i) => [`X-H${i}`, 'v'.repeat(1000)])) },
    '/headers',
  ],
  ['an unknown signing', { signing: 'hmac' }, '/signing'],
  ['a standard secret without whsec_', { secret: 'c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0' }, '/secret'],
  ['a bare whsec_', { secret: 'whsec_' }, '/secret'],
  ['a whsec_ secret that is not base64', { secret: 'whsec_not*base64!not*base64!not*base64!' }, '/secret'],
  ['a whsec_ secret of 23 bytes', { secret: whsec(23) }, '/secret'],
  ['a whsec_ secret of 65 bytes', { secret: whsec(65) }, '/secret'],
  ['a numeric secret', { secret: 12345 }, '/secret'],
  ['a mender secret not hex', { signing: 'mender', secret: 'xyz1' }, '/secret'],
  ['a mender secret of odd length', { signing: 'mender', secret: 'abc' }, '/secret'],
  ['a mender secret of 130 digits', { signing: 'mender', secret: 'ab'.repeat(65) }, '/secret'],
  ['a whsec_ secret with mender signing', { signing: 'mender', secret: whsec(32) }, '/secret'],
  ['a mist secret of 257 characters', { signing: 'mist', secret: 'm'.repeat(257) }, '/secret'],
  ['a string enabled', { enabled: 'yes' }, '/enabled'],
  ['a numeric single_event_per_message', { single_event_per_message: 1 }, '/single_event_per_message'],
  ['metadata as a string', { metadata: 'x' }, '/metadata'],
  ['metadata as an array', { metadata: [1] }, '/metadata'],
  ['metadata over 4 KiB', { metadata: { blob: 'm'.repeat(4100) } }, '/metadata'],
  ['an unknown field', { colour: 'blue' }, '/colour'],
];

describe('field rules → 400 with details {path, message}, nothing written', () => {
  it.each(BAD)('create with %s', async (_label, over, path) => {
    const fp = await fingerprint(redis, prefix);
    const res = await create(withFields(over));
    expectError(res, 400, 'invalid_request');
    expect(detailsOf(res)).toContainEqual({ path, message: expect.any(String) });
    for (const d of detailsOf(res)) expect(Object.keys(d).sort()).toEqual(['message', 'path']);
    expect(await fingerprint(redis, prefix)).toEqual(fp);
  });

  describe('replace (PUT) follows the same rules', () => {
    let id: string;
    beforeAll(async () => {
      id = (await createOk({ name: 'put-target' })).id;
    });
    it.each(BAD)('PUT with %s', async (_label, over, path) => {
      const fp = await fingerprint(redis, prefix);
      const res = await api.call('PUT', `/v1/webhooks/${id}`, { token: admin, body: withFields(over) });
      expectError(res, 400, 'invalid_request');
      expect(detailsOf(res)).toContainEqual({ path, message: expect.any(String) });
      expect(await fingerprint(redis, prefix)).toEqual(fp);
    });
  });

  it('several problems are all reported', async () => {
    const res = await create({ name: '', url: 'ftp://x', topics: [] });
    expectError(res, 400, 'invalid_request');
    const paths = detailsOf(res).map((d) => d.path);
    expect(paths).toEqual(expect.arrayContaining(['/name', '/topics']));
  });
});

describe('field rules: the limits themselves are accepted', () => {
  it.each<[string, Record<string, unknown>]>([
    ['a 1-character name', { name: 'n' }],
    ['a 100-character name', { name: 'n'.repeat(100) }],
    ['a url of 2048 characters', { url: 'http://127.0.0.1/' + 'a'.repeat(2048 - 17) }],
    ['an https url', { url: 'https://127.0.0.1:8443/h?x=1' }],
    ['every topic', { topics: ['deviceauth', 'inventory', 'audits', 'device-events', 'alarms', 'messages'] }],
    ['headers of exactly 4 KiB', { headers: { 'X-A': 'a'.repeat(4096 - 3) } }],
    ['ordinary custom headers', { headers: { Authorization: 'Bearer x', 'X-Tenant': 't1' } }],
    ['a whsec_ secret of 24 bytes', { secret: whsec(24) }],
    ['a whsec_ secret of 64 bytes', { secret: whsec(64) }],
    ['a mender secret of 2 digits', { signing: 'mender', secret: 'ab' }],
    ['a mender secret of 128 digits', { signing: 'mender', secret: 'AbCd'.repeat(32) }],
    ['a mist secret of 1 character', { signing: 'mist', secret: 'm' }],
    ['a mist secret of 256 characters', { signing: 'mist', secret: 'é'.repeat(256) }],
    ['metadata near 4 KiB', { metadata: { blob: 'm'.repeat(4000) } }],
    ['enabled false and single_event_per_message true', { enabled: false, single_event_per_message: true }],
  ])('%s → 201', async (_label, over) => {
    const res = await create(withFields(over));
    expect({ status: res.status, text: res.text }).toMatchObject({ status: 201 });
    for (const [k, v] of Object.entries(over)) if (k !== 'secret' && k !== 'headers') expect(res.body[k]).toEqual(v);
    if (over.headers) {
      expect((await storedWebhook(redis, prefix, org, res.body.id))?.headers).toEqual(over.headers);
    }
    if (over.secret) expect((await storedWebhook(redis, prefix, org, res.body.id))?.secret).toBe(over.secret);
  });
});
