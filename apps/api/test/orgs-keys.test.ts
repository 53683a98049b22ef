/** Orgs and API keys (docs/contract.md §2): shapes, validation, listing without secrets, deletion, 404s. */
import { ROOT, startTestApi, type TestApi } from '../../../test/support/api';
import { testPrefix, testRedis } from '../../../test/support/redis';
import { detailsOf, expectError, fingerprint } from './helpers';

const prefix = testPrefix(__filename);
const redis = testRedis();
let api: TestApi;

beforeAll(async () => {
  api = await startTestApi(prefix);
});

afterAll(async () => {
  await api.close();
  redis.disconnect();
});

const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/;

describe('orgs', () => {
  it('POST /v1/orgs → 201 {id, name, created_at}', async () => {
    const res = await api.call('POST', '/v1/orgs', { body: { name: 'Acme Corp' } });
    expect(res.status).toBe(201);
    expect(Object.keys(res.body).sort()).toEqual(['created_at', 'id', 'name']);
    expect(res.body).toEqual({
      id: expect.stringMatching(/^org_[a-z0-9]+$/),
      name: 'Acme Corp',
      created_at: expect.stringMatching(ISO),
    });
  });

  it('each org gets a new id', async () => {
    const a = await api.call('POST', '/v1/orgs', { body: { name: 'same' } });
    const b = await api.call('POST', '/v1/orgs', { body: { name: 'same' } });
    expect(a.status).toBe(201);
    expect(b.status).toBe(201);
    expect(a.body.id).not.toBe(b.body.id);
  });

  it('GET /v1/orgs and GET /v1/orgs/{id} (root) show created orgs', async () => {
    const created = await api.call('POST', '/v1/orgs', { body: { name: 'listed' } });
    const list = await api.call('GET', '/v1/orgs');
    expect(list.status).toBe(200);
    expect(list.body.orgs).toContainEqual(created.body);
    const one = await api.call('GET', `/v1/orgs/${created.body.id}`);
    expect(one).toMatchObject({ status: 200, body: created.body });
  });

  it('GET /v1/orgs/{id} of an unknown org → 404', async () => {
    expectError(await api.call('GET', '/v1/orgs/org_nope'), 404, 'not_found');
  });

  it.each<[string, string, unknown]>([
    ['no name', '/name', {}],
    ['empty name', '/name', { name: '' }],
    ['name too long', '/name', { name: 'x'.repeat(201) }],
    ['name not a string', '/name', { name: 42 }],
    ['unknown field', '/plan', { name: 'a', plan: 'gold' }],
  ])('POST /v1/orgs with %s → 400 naming %s', async (_label, path, body) => {
    const before = await fingerprint(redis, prefix);
    const res = await api.call('POST', '/v1/orgs', { body });
    expectError(res, 400, 'invalid_request');
    expect(detailsOf(res)).toContainEqual({ path, message: expect.any(String) });
    expect(await fingerprint(redis, prefix)).toEqual(before);
  });

  it('POST /v1/orgs without a body → 400', async () => {
    expectError(await api.call('POST', '/v1/orgs'), 400, 'invalid_request');
  });
});

describe('keys', () => {
  let org: string;
  beforeAll(async () => {
    org = (await api.call('POST', '/v1/orgs', { body: { name: 'keys-org' } })).body.id;
  });

  /** An admin key of the org with a name of its own. */
  async function namedKey(name: string): Promise<string> {
    const r = await api.call('POST', `/v1/orgs/${org}/keys`, { body: { name, role: 'admin' } });
    if (r.status !== 201) throw new Error(`key: ${r.status} ${r.text}`);
    return r.body.key;
  }

  it.each(['admin', 'producer', 'viewer'] as const)(
    'POST keys (%s) → 201 {id, name, role, key, created_at}',
    async (role) => {
      const res = await api.call('POST', `/v1/orgs/${org}/keys`, { body: { name: `my ${role}`, role } });
      expect(res.status).toBe(201);
      expect(res.body).toEqual({
        id: expect.stringMatching(/^key_[a-z0-9]+$/),
        name: `my ${role}`,
        role,
        key: expect.stringMatching(/^dh_[A-Za-z0-9_-]{20,}$/),
        created_at: expect.stringMatching(ISO),
      });
      // the key works, with its role
      const probe = await api.call('GET', '/v1/webhooks', { token: res.body.key });
      expect(probe.status).toBe(role === 'producer' ? 403 : 200);
    },
  );

  it('the key is shown once: the list has no key and no hash, and never the key itself', async () => {
    const created = await api.call('POST', `/v1/orgs/${org}/keys`, { body: { name: 'once', role: 'viewer' } });
    const key: string = created.body.key;
    const list = await api.call('GET', `/v1/orgs/${org}/keys`);
    expect(list.status).toBe(200);
    expect(Object.keys(list.body)).toEqual(['keys']);
    const mine = list.body.keys.find((k: { id: string }) => k.id === created.body.id);
    expect(mine).toEqual({ id: created.body.id, name: 'once', role: 'viewer', created_at: created.body.created_at });
    for (const k of list.body.keys) expect(Object.keys(k).sort()).toEqual(['created_at', 'id', 'name', 'role']);
    expect(list.text).not.toContain(key);
    expect(list.text).not.toMatch(/"(key|hash)"\s*:/);
    // nor does the admin's own listing, nor the org
    const admin = await namedKey('lister');
    const asAdmin = await api.call('GET', `/v1/orgs/${org}/keys`, { token: admin });
    expect(asAdmin.status).toBe(200);
    expect(asAdmin.text).not.toContain(key);
    expect(asAdmin.text).not.toContain(admin);
    expect((await api.call('GET', `/v1/orgs/${org}`)).text).not.toContain(key);
  });

  it('the key is stored only as a hash', async () => {
    const created = await api.call('POST', `/v1/orgs/${org}/keys`, { body: { name: 'hashed', role: 'viewer' } });
    const key: string = created.body.key;
    const fp = await fingerprint(redis, prefix);
    for (const k of Object.keys(fp)) {
      expect(k).not.toContain(key);
      const type = await redis.type(k);
      const value =
        type === 'string' ? await redis.get(k) : type === 'hash' ? JSON.stringify(await redis.hgetall(k)) : '';
      expect(value ?? '').not.toContain(key);
    }
  });

  it('an org admin creates, lists and deletes keys of its own org', async () => {
    const admin = await namedKey('boss');
    const created = await api.call('POST', `/v1/orgs/${org}/keys`, {
      token: admin,
      body: { name: 'made-by-admin', role: 'producer' },
    });
    expect(created.status).toBe(201);
    const list = await api.call('GET', `/v1/orgs/${org}/keys`, { token: admin });
    expect(list.body.keys.map((k: { id: string }) => k.id)).toContain(created.body.id);
    expect((await api.call('DELETE', `/v1/orgs/${org}/keys/${created.body.id}`, { token: admin })).status).toBe(204);
    const after = await api.call('GET', `/v1/orgs/${org}/keys`, { token: admin });
    expect(after.body.keys.map((k: { id: string }) => k.id)).not.toContain(created.body.id);
  });

  it('DELETE → 204 with an empty body; the key is gone from the list and stops working; again → 404', async () => {
    const created = await api.call('POST', `/v1/orgs/${org}/keys`, { body: { name: 'doomed', role: 'admin' } });
    const del = await api.call('DELETE', `/v1/orgs/${org}/keys/${created.body.id}`);
    expect(del.status).toBe(204);
    expect(del.text).toBe('');
    const list = await api.call('GET', `/v1/orgs/${org}/keys`);
    expect(list.body.keys.map((k: { id: string }) => k.id)).not.toContain(created.body.id);
    expectError(await api.call('GET', '/v1/webhooks', { token: created.body.key }), 401, 'unauthorized');
    expectError(await api.call('DELETE', `/v1/orgs/${org}/keys/${created.body.id}`), 404, 'not_found');
  });

  it('404s: unknown key id, unknown org (create, list, delete)', async () => {
    expectError(await api.call('DELETE', `/v1/orgs/${org}/keys/key_nope`), 404, 'not_found');
    expectError(
      await api.call('POST', '/v1/orgs/org_nope/keys', { body: { name: 'x', role: 'admin' } }),
      404,
      'not_found',
    );
    expectError(await api.call('GET', '/v1/orgs/org_nope/keys'), 404, 'not_found');
    expectError(await api.call('DELETE', '/v1/orgs/org_nope/keys/key_nope'), 404, 'not_found');
  });

  it("a key id deleted through another org's path is not found, and keeps working", async () => {
    const other = (await api.call('POST', '/v1/orgs', { body: { name: 'other' } })).body.id;
    const created = await api.call('POST', `/v1/orgs/${org}/keys`, { body: { name: 'mine', role: 'viewer' } });
    expectError(await api.call('DELETE', `/v1/orgs/${other}/keys/${created.body.id}`), 404, 'not_found');
    expect((await api.call('GET', '/v1/webhooks', { token: created.body.key })).status).toBe(200);
  });

  it.each<[string, string, unknown]>([
    ['no role', '/role', { name: 'k' }],
    ['an unknown role', '/role', { name: 'k', role: 'owner' }],
    ['no name', '/name', { role: 'admin' }],
    ['an empty name', '/name', { name: '', role: 'admin' }],
    ['a name too long', '/name', { name: 'n'.repeat(201), role: 'admin' }],
    ['an unknown field', '/org_id', { name: 'k', role: 'admin', org_id: 'x' }],
  ])('POST keys with %s → 400 naming %s, nothing written', async (_label, path, body) => {
    const before = await fingerprint(redis, prefix);
    const res = await api.call('POST', `/v1/orgs/${org}/keys`, { body });
    expectError(res, 400, 'invalid_request');
    expect(detailsOf(res)).toContainEqual({ path, message: expect.any(String) });
    expect(await fingerprint(redis, prefix)).toEqual(before);
  });

  it('the root token is not an API key: it is not listed', async () => {
    const list = await api.call('GET', `/v1/orgs/${org}/keys`);
    expect(list.text).not.toContain(ROOT);
  });
});
