/**
 * Cross-org isolation (docs/contract.md §2): another org's org id, key id, webhook id and delivery id
 * answer 404 exactly as an unknown one (same status, same body), and nothing of the other org
 * changes.
 */
import { startTestApi, type CallResult, type TestApi } from '../../../test/support/api';
import { Receiver, eventually } from '../../../test/support/receiver';
import { testPrefix, testRedis } from '../../../test/support/redis';
import { startTestWorker } from '../../../test/support/worker';
import type { WorkerHost } from '../../worker/src';
import { expectError, fingerprint } from './helpers';

const prefix = testPrefix(__filename);
const redis = testRedis();
let api: TestApi;
let worker: WorkerHost;
let rx: Receiver;

/** Org A owns things; org B's keys go looking for them. */
const A = { id: '', admin: '', keyId: '', webhook: '', delivery: '' };
const B = { id: '', admin: '', viewer: '' };

beforeAll(async () => {
  api = await startTestApi(prefix, { DEVHOOKS_ALLOW_PRIVATE_TARGETS: 'true' });
  worker = await startTestWorker(prefix);
  rx = await Receiver.start();
  const a = await api.org('org-a', 'admin');
  A.id = a.id;
  A.admin = a.key;
  const k = await api.call('POST', `/v1/orgs/${A.id}/keys`, { body: { name: 'a-viewer', role: 'viewer' } });
  A.keyId = k.body.id;
  const wh = await api.call('POST', '/v1/webhooks', {
    token: A.admin,
    body: { name: 'a', url: rx.url('/a'), topics: ['deviceauth'] },
  });
  A.webhook = wh.body.id;
  await api.call('POST', '/v1/events', {
    token: A.admin,
    body: { id: 'a-1', type: 'device-decommissioned', data: { id: 'd' } },
  });
  const list = await eventually(async () => {
    const r = await api.call('GET', `/v1/webhooks/${A.webhook}/deliveries`, { token: A.admin });
    return r.body.total === 1 && r.body.deliveries[0].status === 'succeeded' ? r : undefined;
  });
  A.delivery = list.body.deliveries[0].id;

  const b = await api.org('org-b', 'admin');
  B.id = b.id;
  B.admin = b.key;
  B.viewer = await api.key(B.id, 'viewer');
});

afterAll(async () => {
  await worker.stop();
  await api.close();
  await rx.close();
  redis.disconnect();
});

/** The same call with A's id and with an unknown one of the same shape must answer identically. */
async function sameAsUnknown(
  token: string,
  method: string,
  theirs: string,
  unknown: string,
  body?: unknown,
): Promise<CallResult> {
  const before = await fingerprint(redis, prefix);
  const a = await api.call(method, theirs, { token, body });
  const b = await api.call(method, unknown, { token, body });
  expectError(a, 404, 'not_found');
  expect({ status: a.status, body: a.body }).toEqual({ status: b.status, body: b.body });
  expect(await fingerprint(redis, prefix)).toEqual(before);
  return a;
}

const HOOK = { name: 'b', url: 'http://127.0.0.1:9/b', topics: ['deviceauth'] };

describe("another org's ids answer 404 exactly as unknown ones", () => {
  it.each<[string, string, () => string, () => string, unknown]>([
    ['GET org', 'GET', () => `/v1/orgs/${A.id}`, () => '/v1/orgs/org_unknown0000000000000', undefined],
    [
      'create key in org',
      'POST',
      () => `/v1/orgs/${A.id}/keys`,
      () => '/v1/orgs/org_unknown0000000000000/keys',
      { name: 'x', role: 'admin' },
    ],
    [
      'list keys of org',
      'GET',
      () => `/v1/orgs/${A.id}/keys`,
      () => '/v1/orgs/org_unknown0000000000000/keys',
      undefined,
    ],
    [
      'delete key via its org',
      'DELETE',
      () => `/v1/orgs/${A.id}/keys/${A.keyId}`,
      () => `/v1/orgs/org_unknown0000000000000/keys/${A.keyId}`,
      undefined,
    ],
    [
      'delete key via own org',
      'DELETE',
      () => `/v1/orgs/${B.id}/keys/${A.keyId}`,
      () => `/v1/orgs/${B.id}/keys/key_unknown0000000000000`,
      undefined,
    ],
    ['GET webhook', 'GET', () => `/v1/webhooks/${A.webhook}`, () => '/v1/webhooks/wh_unknown00000000000000', undefined],
    ['PUT webhook', 'PUT', () => `/v1/webhooks/${A.webhook}`, () => '/v1/webhooks/wh_unknown00000000000000', HOOK],
    [
      'PATCH webhook',
      'PATCH',
      () => `/v1/webhooks/${A.webhook}`,
      () => '/v1/webhooks/wh_unknown00000000000000',
      { enabled: false },
    ],
    [
      'DELETE webhook',
      'DELETE',
      () => `/v1/webhooks/${A.webhook}`,
      () => '/v1/webhooks/wh_unknown00000000000000',
      undefined,
    ],
    [
      'ping webhook',
      'POST',
      () => `/v1/webhooks/${A.webhook}/ping`,
      () => '/v1/webhooks/wh_unknown00000000000000/ping',
      undefined,
    ],
    [
      'webhook deliveries',
      'GET',
      () => `/v1/webhooks/${A.webhook}/deliveries`,
      () => '/v1/webhooks/wh_unknown00000000000000/deliveries',
      undefined,
    ],
    [
      'GET delivery',
      'GET',
      () => `/v1/deliveries/${A.delivery}`,
      () => '/v1/deliveries/dlv_unknown000000000000000000',
      undefined,
    ],
    [
      'retry delivery',
      'POST',
      () => `/v1/deliveries/${A.delivery}/retry`,
      () => '/v1/deliveries/dlv_unknown000000000000000000/retry',
      undefined,
    ],
    // (every row has all five entries: jest would take a missing last one for a done callback)
  ])("B's admin: %s", async (_label, method, theirs, unknown, body) => {
    await sameAsUnknown(B.admin, method, theirs(), unknown(), body);
  });

  it.each<[string, () => string, () => string]>([
    ['GET org', () => `/v1/orgs/${A.id}`, () => '/v1/orgs/org_unknown0000000000000'],
    ['GET webhook', () => `/v1/webhooks/${A.webhook}`, () => '/v1/webhooks/wh_unknown00000000000000'],
    [
      'webhook deliveries',
      () => `/v1/webhooks/${A.webhook}/deliveries`,
      () => '/v1/webhooks/wh_unknown00000000000000/deliveries',
    ],
    ['GET delivery', () => `/v1/deliveries/${A.delivery}`, () => '/v1/deliveries/dlv_unknown000000000000000000'],
  ])("B's viewer: %s", async (_label, theirs, unknown) => {
    await sameAsUnknown(B.viewer, 'GET', theirs(), unknown());
  });

  it("DELETE /v1/webhooks naming A's webhook answers as for an unknown id, and deletes nothing", async () => {
    const own = await api.call('POST', '/v1/webhooks', { token: B.admin, body: HOOK });
    expect(own.status).toBe(201);
    const theirs = await sameAsUnknown(B.admin, 'DELETE', '/v1/webhooks', '/v1/webhooks', {
      webhook_ids: [own.body.id, A.webhook],
    });
    expect(theirs.body.error.details).toEqual([expect.objectContaining({ index: 1, path: '/webhook_ids/1' })]);
    const unknown = await api.call('DELETE', '/v1/webhooks', {
      token: B.admin,
      body: { webhook_ids: [own.body.id, 'wh_unknown00000000000000'] },
    });
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.code).toBe(theirs.body.error.code);
    expect(unknown.body.error.message).toBe(theirs.body.error.message);
    expect((await api.call('GET', `/v1/webhooks/${own.body.id}`, { token: B.admin })).status).toBe(200);
  });

  it("B's lists hold nothing of A's", async () => {
    const hooks = await api.call('GET', '/v1/webhooks', { token: B.viewer });
    expect(hooks.status).toBe(200);
    expect(hooks.body.webhooks.map((w: { id: string }) => w.id)).not.toContain(A.webhook);
    expect(hooks.text).not.toContain(A.id);
    const keys = await api.call('GET', `/v1/orgs/${B.id}/keys`, { token: B.admin });
    expect(keys.status).toBe(200);
    expect(keys.body.keys.map((k: { id: string }) => k.id)).not.toContain(A.keyId);
  });

  it("A's things are all still there and working after B's attempts", async () => {
    const w = await api.call('GET', `/v1/webhooks/${A.webhook}`, { token: A.admin });
    expect(w).toMatchObject({ status: 200, body: { id: A.webhook, enabled: true, name: 'a' } });
    const keys = await api.call('GET', `/v1/orgs/${A.id}/keys`, { token: A.admin });
    expect(keys.body.keys.map((k: { id: string }) => k.id)).toContain(A.keyId);
    const d = await api.call('GET', `/v1/deliveries/${A.delivery}`, { token: A.admin });
    expect(d).toMatchObject({ status: 200, body: { id: A.delivery, webhook_id: A.webhook, attempts: 1 } });
  });

  it("an event of B reaches none of A's webhooks", async () => {
    const before = rx.requests.length;
    const ev = await api.call('POST', '/v1/events', {
      token: B.admin,
      body: { id: 'b-1', type: 'device-decommissioned', data: { id: 'd' } },
    });
    expect(ev.status).toBe(202);
    // a marker event of A, sent after B's: once it arrives, B's would have too
    await api.call('POST', '/v1/events', {
      token: A.admin,
      body: { id: 'a-marker', type: 'device-decommissioned', data: { id: 'd' } },
    });
    await eventually(() => rx.requests.some((r) => r.headers['webhook-id'] === 'a-marker'));
    expect(rx.requests.slice(before).map((r) => r.headers['webhook-id'])).toEqual(['a-marker']);
  });
});
