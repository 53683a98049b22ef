/**
 * Secrets and API keys never appear in any response after creation (docs/contract.md §2, §3): webhook
 * reads and lists, updates, org and key reads, delivery logs and details (signature values
 * redacted), metrics, and error answers about a bad secret.
 */
import { randomBytes } from 'node:crypto';
import { ROOT, startTestApi, type TestApi } from '../../../test/support/api';
import { Receiver, eventually } from '../../../test/support/receiver';
import { testPrefix } from '../../../test/support/redis';
import { startTestWorker } from '../../../test/support/worker';
import type { WorkerHost } from '../../worker/src';
import { expectError } from './helpers';

const prefix = testPrefix(__filename);
let api: TestApi;
let worker: WorkerHost;
let rx: Receiver;
let orgId: string;
const keys: Record<'admin' | 'viewer' | 'producer', string> = { admin: '', viewer: '', producer: '' };
/** Every secret string that must never be read back, with a name for the failure message. */
const secrets = new Map<string, string>();
const hooks: Record<string, any> = {};

beforeAll(async () => {
  api = await startTestApi(prefix, { DEVHOOKS_ALLOW_PRIVATE_TARGETS: 'true' });
  worker = await startTestWorker(prefix);
  rx = await Receiver.start();
  const o = await api.org('secretive', 'admin');
  orgId = o.id;
  keys.admin = o.key;
  keys.viewer = await api.key(orgId, 'viewer');
  keys.producer = await api.key(orgId, 'producer');
  for (const [role, k] of Object.entries(keys)) secrets.set(k, `${role} API key`);
  secrets.set(ROOT, 'root token');

  const standardGiven = 'whsec_' + randomBytes(32).toString('base64');
  const menderSecret = randomBytes(32).toString('hex');
  const mistSecret = 'mist-' + randomBytes(16).toString('base64url');
  const defs: Record<string, Record<string, unknown>> = {
    generated: {},
    given: { secret: standardGiven },
    mender: { signing: 'mender', secret: menderSecret },
    mist: { signing: 'mist', secret: mistSecret },
  };
  for (const [name, extra] of Object.entries(defs)) {
    const r = await api.call('POST', '/v1/webhooks', {
      token: keys.admin,
      body: { name, url: rx.url(`/${name}`), topics: ['deviceauth'], ...extra },
    });
    expect(r.status).toBe(201);
    hooks[name] = r.body;
  }
  secrets.set(hooks.generated.secret, 'generated standard secret');
  secrets.set(hooks.generated.secret.slice(6), 'generated standard secret (base64 part)');
  secrets.set(standardGiven, 'given standard secret');
  secrets.set(standardGiven.slice(6), 'given standard secret (base64 part)');
  secrets.set(menderSecret, 'mender secret');
  secrets.set(mistSecret, 'mist secret');

  const ev = await api.call('POST', '/v1/events', {
    token: keys.producer,
    body: { id: 'secret-evt', type: 'device-provisioned', data: { id: 'dev-1' } },
  });
  expect(ev.status).toBe(202);
  await rx.waitFor(4);
  // the signature values the receiver saw are secrets' fingerprints: never shown either
  for (const r of rx.requests) {
    for (const h of ['webhook-signature', 'x-men-signature', 'x-mist-signature', 'x-mist-signature-v2']) {
      const v = r.headers[h];
      if (typeof v === 'string')
        secrets.set(h === 'webhook-signature' ? v.replace(/^v1,/, '') : v, `${h} sent on ${r.path}`);
    }
  }
  expect([...secrets.values()].filter((v) => v.includes('sent on'))).toHaveLength(4 + 1); // standard ×2, mender, mist ×2
  // all four delivered
  await eventually(async () => {
    for (const h of Object.values(hooks)) {
      const l = await api.call('GET', `/v1/webhooks/${h.id}/deliveries`, { token: keys.admin });
      if (l.body.deliveries?.[0]?.status !== 'succeeded') return false;
    }
    return true;
  });
});

afterAll(async () => {
  await worker.stop();
  await api.close();
  await rx.close();
});

function expectNoSecret(label: string, text: string): void {
  for (const [secret, what] of secrets) {
    if (text.includes(secret)) throw new Error(`${label} shows the ${what}`);
  }
  expect(text.length).toBeGreaterThan(0);
}

describe('no response after creation shows a secret or an API key', () => {
  it('webhook reads and lists (admin and viewer)', async () => {
    for (const token of [keys.admin, keys.viewer]) {
      const list = await api.call('GET', '/v1/webhooks', { token });
      expect(list.status).toBe(200);
      expectNoSecret('GET /v1/webhooks', list.text);
      for (const w of list.body.webhooks) expect(w).not.toHaveProperty('secret');
      for (const [name, h] of Object.entries(hooks)) {
        const one = await api.call('GET', `/v1/webhooks/${h.id}`, { token });
        expect(one.status).toBe(200);
        expect(one.body).not.toHaveProperty('secret');
        expect(one.body.has_secret).toBe(true);
        expectNoSecret(`GET /v1/webhooks/{${name}}`, one.text);
      }
    }
  });

  it('webhook updates that keep the secret (PATCH, PUT without a secret)', async () => {
    for (const [name, h] of Object.entries(hooks)) {
      const patch = await api.call('PATCH', `/v1/webhooks/${h.id}`, { token: keys.admin, body: { name: `${name}-2` } });
      expect(patch.status).toBe(200);
      expectNoSecret(`PATCH {${name}}`, patch.text);
      const put = await api.call('PUT', `/v1/webhooks/${h.id}`, {
        token: keys.admin,
        body: { name, url: h.url, topics: h.topics, signing: h.signing },
      });
      expect(put.status).toBe(200);
      expect(put.body.has_secret).toBe(true);
      expectNoSecret(`PUT {${name}}`, put.text);
    }
  });

  it('orgs and keys', async () => {
    for (const [label, token, path] of [
      ['GET /v1/orgs', ROOT, '/v1/orgs'],
      ['GET /v1/orgs/{id} (root)', ROOT, `/v1/orgs/${orgId}`],
      ['GET /v1/orgs/{id} (admin)', keys.admin, `/v1/orgs/${orgId}`],
      ['GET keys (root)', ROOT, `/v1/orgs/${orgId}/keys`],
      ['GET keys (admin)', keys.admin, `/v1/orgs/${orgId}/keys`],
    ] as const) {
      const r = await api.call('GET', path, { token });
      expect(r.status).toBe(200);
      expectNoSecret(label, r.text);
    }
  });

  it('delivery logs and details; signature values redacted, per scheme', async () => {
    const expected: Record<string, Record<string, string>> = {
      generated: { 'webhook-signature': '[redacted]' },
      given: { 'webhook-signature': '[redacted]' },
      mender: { 'x-men-signature': '[redacted]', 'x-men-algorithm': 'MEN-HMAC-SHA256-Payload' },
      mist: { 'x-mist-signature-v2': '[redacted]', 'x-mist-signature': '[redacted]' },
    };
    for (const [name, h] of Object.entries(hooks)) {
      for (const token of [keys.admin, keys.viewer]) {
        const list = await api.call('GET', `/v1/webhooks/${h.id}/deliveries`, { token });
        expect(list.body.total).toBe(1);
        expectNoSecret(`deliveries of {${name}}`, list.text);
        const d = await api.call('GET', `/v1/deliveries/${list.body.deliveries[0].id}`, { token });
        expect(d.status).toBe(200);
        expectNoSecret(`delivery of {${name}}`, d.text);
        expect(d.body.request.headers).toMatchObject(expected[name]);
        expect(d.body.request.headers['webhook-id']).toBe('secret-evt');
      }
      // and the receiver did get real signatures under those names
      const got = rx.on(`/${name}`)[0];
      for (const [header, shown] of Object.entries(expected[name])) {
        expect(got.headers[header]).toEqual(expect.any(String));
        if (shown === '[redacted]') expect(got.headers[header]).not.toBe(shown);
      }
    }
  });

  it('a webhook without a secret shows no signature header at all', async () => {
    const r = await api.call('POST', '/v1/webhooks', {
      token: keys.admin,
      body: { name: 'plain', url: rx.url('/plain'), topics: ['messages'], signing: 'mist' },
    });
    expect(r.body.has_secret).toBe(false);
    const ev = await api.call('POST', '/v1/events', { token: keys.admin, body: { type: 'message', data: { x: 1 } } });
    expect(ev.status).toBe(202);
    const d = await eventually(async () => {
      const l = await api.call('GET', `/v1/webhooks/${r.body.id}/deliveries`, { token: keys.admin });
      return l.body.deliveries?.[0]?.status === 'succeeded' ? l.body.deliveries[0] : undefined;
    });
    const detail = await api.call('GET', `/v1/deliveries/${d.id}`, { token: keys.admin });
    expect(Object.keys(detail.body.request.headers).filter((h) => /signature/i.test(h))).toEqual([]);
    expect(rx.on('/plain')[0].headers['x-mist-signature']).toBeUndefined();
  });

  it('event and ping answers', async () => {
    const ev = await api.call('POST', '/v1/events', {
      token: keys.producer,
      body: { type: 'device-decommissioned', data: { id: 'x' } },
    });
    expect(ev.status).toBe(202);
    expectNoSecret('POST /v1/events', ev.text);
    const ping = await api.call('POST', `/v1/webhooks/${hooks.given.id}/ping`, { token: keys.admin });
    expect(ping.status).toBe(200);
    expectNoSecret('ping', ping.text);
  });

  it('metrics', async () => {
    const m = await api.call('GET', '/metrics', { token: null });
    expect(m.status).toBe(200);
    expectNoSecret('/metrics', m.text);
  });

  it('an invalid secret is not echoed in the 400', async () => {
    const bad = [
      { signing: 'standard', secret: 'whsec_' + randomBytes(10).toString('base64') },
      { signing: 'mender', secret: randomBytes(70).toString('hex') },
      { signing: 'mist', secret: 'q'.repeat(300) },
    ];
    for (const b of bad) {
      const r = await api.call('POST', '/v1/webhooks', {
        token: keys.admin,
        body: { name: 'bad', url: rx.url('/bad'), topics: ['alarms'], ...b },
      });
      expectError(r, 400, 'invalid_request');
      expect(r.body.error.details).toContainEqual({ path: '/secret', message: expect.any(String) });
      expect(r.text).not.toContain(b.secret);
    }
  });

  it('a failed auth never echoes the token presented', async () => {
    const r = await api.call('GET', '/v1/webhooks', { token: 'dh_' + 'z'.repeat(40) });
    expectError(r, 401, 'unauthorized');
    expect(r.text).not.toContain('z'.repeat(40));
  });
});
