/**
 * Auth and roles (docs/contract.md §2): every /v1 route against the root token and the three key roles,
 * 401 without or with a bad token, and a deleted key stops working at once.
 */
import { ROOT, startTestApi, type TestApi } from '../../../test/support/api';
import { testPrefix, testRedis } from '../../../test/support/redis';
import { expectError, fingerprint } from './helpers';

type Who = 'root' | 'admin' | 'producer' | 'viewer';
const WHO: Who[] = ['root', 'admin', 'producer', 'viewer'];

const prefix = testPrefix(__filename);
const redis = testRedis();
let api: TestApi;
let org: string;
const tokens = {} as Record<Who, string>;
let webhookId: string;

const HOOK = { name: 'h', url: 'http://127.0.0.1:9/hook', topics: ['deviceauth'] };

async function newWebhook(): Promise<string> {
  const r = await api.call('POST', '/v1/webhooks', { token: tokens.admin, body: HOOK });
  if (r.status !== 201) throw new Error(`webhook: ${r.status} ${r.text}`);
  return r.body.id;
}

async function newKeyId(): Promise<string> {
  const r = await api.call('POST', `/v1/orgs/${org}/keys`, { body: { name: 'spare', role: 'viewer' } });
  if (r.status !== 201) throw new Error(`key: ${r.status} ${r.text}`);
  return r.body.id;
}

beforeAll(async () => {
  api = await startTestApi(prefix, { DEVHOOKS_ALLOW_PRIVATE_TARGETS: 'true' });
  const a = await api.org('acme', 'admin');
  org = a.id;
  tokens.root = ROOT;
  tokens.admin = a.key;
  tokens.producer = await api.key(org, 'producer');
  tokens.viewer = await api.key(org, 'viewer');
  webhookId = await newWebhook();
});

afterAll(async () => {
  await api.close();
  redis.disconnect();
});

/** An admin key of the org with a name of its own. */
async function namedKey(name: string): Promise<string> {
  const r = await api.call('POST', `/v1/orgs/${org}/keys`, { body: { name, role: 'admin' } });
  if (r.status !== 201) throw new Error(`key: ${r.status} ${r.text}`);
  return r.body.key;
}

interface Route {
  method: string;
  /** The path; may create what the call consumes (a fresh key or webhook to delete). */
  path: () => Promise<string> | string;
  body?: unknown;
  /** Status for each caller allowed to make the call; everyone else gets 403. */
  allowed: Partial<Record<Who, number>>;
}

const ROUTES: Record<string, Route> = {
  'POST /v1/orgs': { method: 'POST', path: () => '/v1/orgs', body: { name: 'other' }, allowed: { root: 201 } },
  'GET /v1/orgs': { method: 'GET', path: () => '/v1/orgs', allowed: { root: 200 } },
  'GET /v1/orgs/{org_id}': {
    method: 'GET',
    path: () => `/v1/orgs/${org}`,
    allowed: { root: 200, admin: 200, viewer: 200 },
  },
  'POST /v1/orgs/{org_id}/keys': {
    method: 'POST',
    path: () => `/v1/orgs/${org}/keys`,
    body: { name: 'k', role: 'viewer' },
    allowed: { root: 201, admin: 201 },
  },
  'GET /v1/orgs/{org_id}/keys': {
    method: 'GET',
    path: () => `/v1/orgs/${org}/keys`,
    allowed: { root: 200, admin: 200 },
  },
  'DELETE /v1/orgs/{org_id}/keys/{key_id}': {
    method: 'DELETE',
    path: async () => `/v1/orgs/${org}/keys/${await newKeyId()}`,
    allowed: { root: 204, admin: 204 },
  },
  'POST /v1/webhooks': { method: 'POST', path: () => '/v1/webhooks', body: HOOK, allowed: { admin: 201 } },
  'GET /v1/webhooks': { method: 'GET', path: () => '/v1/webhooks', allowed: { admin: 200, viewer: 200 } },
  'DELETE /v1/webhooks': {
    method: 'DELETE',
    path: () => '/v1/webhooks',
    // the body names a webhook created just before (see the test): filled in per call
    allowed: { admin: 204 },
  },
  'GET /v1/webhooks/{id}': {
    method: 'GET',
    path: () => `/v1/webhooks/${webhookId}`,
    allowed: { admin: 200, viewer: 200 },
  },
  'PUT /v1/webhooks/{id}': {
    method: 'PUT',
    path: () => `/v1/webhooks/${webhookId}`,
    body: HOOK,
    allowed: { admin: 200 },
  },
  'PATCH /v1/webhooks/{id}': {
    method: 'PATCH',
    path: () => `/v1/webhooks/${webhookId}`,
    body: { enabled: true },
    allowed: { admin: 200 },
  },
  'DELETE /v1/webhooks/{id}': {
    method: 'DELETE',
    path: async () => `/v1/webhooks/${await newWebhook()}`,
    allowed: { admin: 204 },
  },
  // an unknown webhook: the role check passes (404), with no worker needed to answer a real ping
  'POST /v1/webhooks/{id}/ping': {
    method: 'POST',
    path: () => '/v1/webhooks/wh_unknown/ping',
    allowed: { admin: 404 },
  },
  'GET /v1/webhooks/{id}/deliveries': {
    method: 'GET',
    path: () => `/v1/webhooks/${webhookId}/deliveries`,
    allowed: { admin: 200, viewer: 200 },
  },
  'GET /v1/deliveries/{id}': {
    method: 'GET',
    path: () => '/v1/deliveries/dlv_unknown',
    allowed: { admin: 404, viewer: 404 },
  },
  'POST /v1/deliveries/{id}/retry': {
    method: 'POST',
    path: () => '/v1/deliveries/dlv_unknown/retry',
    allowed: { admin: 404 },
  },
  'POST /v1/events': {
    method: 'POST',
    path: () => '/v1/events',
    body: { type: 'device-provisioned', data: { id: 'dev-1' } },
    allowed: { admin: 202, producer: 202 },
  },
};

const CASES: Array<[string, Who]> = Object.keys(ROUTES).flatMap((r) => WHO.map((w): [string, Who] => [r, w]));

describe('roles: every route, every caller', () => {
  it.each(CASES)('%s as %s', async (name, who) => {
    const route = ROUTES[name];
    const path = await route.path();
    let body = route.body;
    if (name === 'DELETE /v1/webhooks') body = { webhook_ids: [await newWebhook()] };
    const expected = route.allowed[who];
    const before = expected === undefined ? await fingerprint(redis, prefix) : undefined;
    const res = await api.call(route.method, path, { token: tokens[who], body });
    if (expected === undefined) {
      expectError(res, 403, 'forbidden');
      // a refused call writes nothing
      expect(await fingerprint(redis, prefix)).toEqual(before);
    } else if (expected >= 400) {
      expectError(res, expected, 'not_found');
    } else {
      expect({ status: res.status, text: res.text }).toMatchObject({ status: expected });
    }
  });

  it('the root token is refused on org-scoped routes with a message saying why', async () => {
    const res = await api.call('GET', '/v1/webhooks', { token: ROOT });
    expectError(res, 403, 'forbidden');
    expect(res.body.error.message).toMatch(/org API key/);
  });
});

describe('401', () => {
  const SAMPLE: Array<[string, string]> = [
    ['POST', '/v1/orgs'],
    ['GET', '/v1/orgs'],
    ['GET', '/v1/webhooks'],
    ['POST', '/v1/webhooks'],
    ['POST', '/v1/events'],
    ['GET', '/v1/deliveries/dlv_x'],
    ['DELETE', '/v1/webhooks/wh_x'],
    ['GET', '/v1/no-such-route'],
  ];

  it.each(SAMPLE)('%s %s without a token', async (method, path) => {
    const before = await fingerprint(redis, prefix);
    const body = method === 'POST' ? { name: 'x' } : undefined;
    const res = await api.call(method, path, { token: null, body });
    expectError(res, 401, 'unauthorized');
    expect(res.headers.get('www-authenticate')).toMatch(/^Bearer/);
    expect(await fingerprint(redis, prefix)).toEqual(before);
  });

  it.each(SAMPLE)('%s %s with an unknown token', async (method, path) => {
    const res = await api.call(method, path, { token: 'dh_not-a-real-key' });
    expectError(res, 401, 'unauthorized');
  });

  it.each<[string, Record<string, string>]>([
    [
      'Basic with the root token as password',
      { authorization: `Basic ${Buffer.from(`u:${ROOT}`).toString('base64')}` },
    ],
    ['the root token without a scheme', { authorization: ROOT }],
    ['an empty bearer', { authorization: 'Bearer ' }],
    ['the root token with a suffix', { authorization: `Bearer ${ROOT}x` }],
    ['the root token, truncated', { authorization: `Bearer ${ROOT.slice(0, -1)}` }],
    ['two tokens', { authorization: `Bearer ${ROOT} ${ROOT}` }],
  ])('/v1 refuses %s', async (_label, headers) => {
    const res = await api.call('GET', '/v1/orgs', { token: null, headers });
    expectError(res, 401, 'unauthorized');
  });

  it('an unknown /v1 route answers 404 once authenticated', async () => {
    const res = await api.call('GET', '/v1/no-such-route', { token: tokens.viewer });
    expectError(res, 404, 'not_found');
  });

  it('a deleted key stops working at once (deleted by root)', async () => {
    const created = await api.call('POST', `/v1/orgs/${org}/keys`, { body: { name: 'temp', role: 'admin' } });
    expect(created.status).toBe(201);
    const key = created.body.key as string;
    expect((await api.call('GET', '/v1/webhooks', { token: key })).status).toBe(200);
    const del = await api.call('DELETE', `/v1/orgs/${org}/keys/${created.body.id}`);
    expect(del.status).toBe(204);
    expectError(await api.call('GET', '/v1/webhooks', { token: key }), 401, 'unauthorized');
    expectError(
      await api.call('POST', '/v1/events', { token: key, body: { type: 'message', data: {} } }),
      401,
      'unauthorized',
    );
  });

  it('a deleted key stops working at once (an admin deleting its own key)', async () => {
    const key = await namedKey('self');
    const list = await api.call('GET', `/v1/orgs/${org}/keys`, { token: key });
    const self = list.body.keys.find((k: { name: string }) => k.name === 'self');
    expect(self).toBeDefined();
    expect((await api.call('DELETE', `/v1/orgs/${org}/keys/${self.id}`, { token: key })).status).toBe(204);
    expectError(await api.call('GET', `/v1/orgs/${org}/keys`, { token: key }), 401, 'unauthorized');
  });

  it('deleting one key leaves the others working', async () => {
    const spare = await newKeyId();
    expect((await api.call('DELETE', `/v1/orgs/${org}/keys/${spare}`)).status).toBe(204);
    expect((await api.call('GET', '/v1/webhooks', { token: tokens.viewer })).status).toBe(200);
    expect((await api.call('GET', '/v1/webhooks', { token: tokens.admin })).status).toBe(200);
  });
});
