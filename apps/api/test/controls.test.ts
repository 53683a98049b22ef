/**
 * Delivery controls (contract §9) at the API, no worker: the new webhook fields (rate_limit, filter,
 * ordering) and routes (rotate-secret, recover, replay, event-types): bad input is a clear 4xx that
 * changes nothing, another org's webhook is 404 on every route, and roles are enforced. Delivery
 * behaviour is tested with a worker in apps/worker/test (rotation, recover, replay, rate-limit, filters).
 */
import { EVENT_TYPE_NAMES } from '@devhooks/core';
import { startTestApi, type TestApi } from '../../../test/support/api';
import { testPrefix, testRedis } from '../../../test/support/redis';
import { detailsOf, expectError, fingerprint, storedWebhook } from './helpers';

const prefix = testPrefix(__filename);
const redis = testRedis();
let api: TestApi;
/** The org, its keys by role, another org's admin key, and a webhook of the org. */
let org: string, admin: string, viewer: string, producer: string, otherAdmin: string, hookId: string;

const BASE = { name: 'hook', url: 'http://127.0.0.1:9/hook', topics: ['deviceauth'] };
const SINCE = { since: new Date(Date.now() - 60_000).toISOString() };

beforeAll(async () => {
  api = await startTestApi(prefix, { DEVHOOKS_ALLOW_PRIVATE_TARGETS: 'true' });
  const o = await api.org('controls', 'admin');
  org = o.id;
  admin = o.key;
  viewer = await api.key(org, 'viewer');
  producer = await api.key(org, 'producer');
  otherAdmin = (await api.org('other', 'admin')).key;
  const w = await api.call('POST', '/v1/webhooks', { token: admin, body: BASE });
  hookId = w.body.id;
});

afterAll(async () => {
  await api.close();
  redis.disconnect();
});

describe('webhook fields rate_limit, filter, ordering', () => {
  it('are stored and read back; ordering defaults to none; null clears', async () => {
    const filter = { types: ['device-status-changed'], data: { status: { $in: ['accepted', 'rejected'] } } };
    const c = await api.call('POST', '/v1/webhooks', { token: admin, body: { ...BASE, rate_limit: 5, filter } });
    expect(c.status).toBe(201);
    expect(c.body).toMatchObject({ rate_limit: 5, filter, ordering: 'none' });
    const g = await api.call('GET', `/v1/webhooks/${c.body.id}`, { token: viewer });
    expect(g.body).toMatchObject({ rate_limit: 5, filter, ordering: 'none' });
    const p = await api.call('PATCH', `/v1/webhooks/${c.body.id}`, {
      token: admin,
      body: { rate_limit: null, filter: null, ordering: 'device' },
    });
    expect(p.status).toBe(200);
    expect(p.body.ordering).toBe('device');
    expect(p.body).not.toHaveProperty('rate_limit');
    expect(p.body).not.toHaveProperty('filter');
  });

  it.each<[string, Record<string, unknown>, string]>([
    ['rate_limit 0', { rate_limit: 0 }, '/rate_limit'],
    ['rate_limit 10001', { rate_limit: 10_001 }, '/rate_limit'],
    ['rate_limit "5"', { rate_limit: '5' }, '/rate_limit'],
    ['ordering "site"', { ordering: 'site' }, '/ordering'],
    ['filter not an object', { filter: 'status=accepted' }, '/filter'],
    ['filter unknown operator', { filter: { data: { status: { $regex: 'a.*' } } } }, '/filter/data/status'],
    ['filter type of another topic', { filter: { types: ['alarm'] } }, '/filter/types/0'],
  ])('create and patch refuse %s with its path, and change nothing', async (_l, change, path) => {
    const before = await fingerprint(redis, prefix);
    const c = await api.call('POST', '/v1/webhooks', { token: admin, body: { ...BASE, ...change } });
    expectError(c, 400, 'invalid_request');
    expect(detailsOf(c).map((d) => d.path)).toContain(path);
    const p = await api.call('PATCH', `/v1/webhooks/${hookId}`, { token: admin, body: change });
    expectError(p, 400, 'invalid_request');
    expect(detailsOf(p).map((d) => d.path)).toContain(path);
    expect(await fingerprint(redis, prefix)).toEqual(before);
  });
});

describe('POST /v1/webhooks/{id}/rotate-secret', () => {
  it('standard: a new secret now, the old one for 24 h; the view shows until when, never a secret', async () => {
    const c = await api.call('POST', '/v1/webhooks', { token: admin, body: BASE });
    const old = c.body.secret;
    const r = await api.call('POST', `/v1/webhooks/${c.body.id}/rotate-secret`, { token: admin, body: {} });
    expect(r.status).toBe(200);
    expect(Object.keys(r.body).sort()).toEqual(['previous_expires_at', 'secret']);
    expect(r.body.secret).toMatch(/^whsec_/);
    expect(r.body.secret).not.toBe(old);
    const expires = Date.parse(r.body.previous_expires_at) - Date.now();
    expect(expires).toBeGreaterThan(23 * 3_600_000);
    expect(expires).toBeLessThanOrEqual(24 * 3_600_000);
    const stored = await storedWebhook(redis, prefix, org, c.body.id);
    expect(stored).toMatchObject({ secret: r.body.secret, previous_secret: old });
    const g = await api.call('GET', `/v1/webhooks/${c.body.id}`, { token: admin });
    expect(g.body.previous_secret_expires_at).toBe(r.body.previous_expires_at);
    expect(g.text).not.toContain(old);
    expect(g.text).not.toContain(r.body.secret);
  });

  it('a body-less call works; grace 0 and a given secret switch at once', async () => {
    const c = await api.call('POST', '/v1/webhooks', { token: admin, body: BASE });
    const given = 'whsec_' + Buffer.alloc(32, 7).toString('base64');
    const r = await api.call('POST', `/v1/webhooks/${c.body.id}/rotate-secret`, {
      token: admin,
      body: { secret: given, grace: '0' },
    });
    expect(r.body).toEqual({ secret: given, previous_expires_at: null });
    expect(await storedWebhook(redis, prefix, org, c.body.id)).not.toHaveProperty('previous_secret');
    const bare = await api.call('POST', `/v1/webhooks/${c.body.id}/rotate-secret`, { token: admin });
    expect(bare.status).toBe(200);
  });

  it('mender and mist switch at once', async () => {
    const c = await api.call('POST', '/v1/webhooks', {
      token: admin,
      body: { ...BASE, signing: 'mender', secret: 'abcd' },
    });
    const r = await api.call('POST', `/v1/webhooks/${c.body.id}/rotate-secret`, { token: admin, body: {} });
    expect(r.body.secret).toMatch(/^[0-9a-f]{64}$/);
    expect(r.body.previous_expires_at).toBeNull();
  });

  it('PATCH with a secret ends a rotation at once', async () => {
    const c = await api.call('POST', '/v1/webhooks', { token: admin, body: BASE });
    await api.call('POST', `/v1/webhooks/${c.body.id}/rotate-secret`, { token: admin, body: {} });
    const p = await api.call('PATCH', `/v1/webhooks/${c.body.id}`, {
      token: admin,
      body: { secret: 'whsec_' + Buffer.alloc(32, 9).toString('base64') },
    });
    expect(p.body).not.toHaveProperty('previous_secret_expires_at');
    expect(await storedWebhook(redis, prefix, org, c.body.id)).not.toHaveProperty('previous_secret');
  });

  it.each<[unknown, string]>([
    [{ grace: '8d' }, '/grace'],
    [{ grace: 'tomorrow' }, '/grace'],
    [{ grace: -5 }, '/grace'],
    [{ secret: 'not-whsec' }, '/secret'],
    [{ secret: 5 }, '/secret'],
    [{ extra: true }, '/extra'],
  ])('refuses %j and changes nothing', async (body, path) => {
    const before = await fingerprint(redis, prefix);
    const r = await api.call('POST', `/v1/webhooks/${hookId}/rotate-secret`, { token: admin, body });
    expectError(r, 400, 'invalid_request');
    expect(detailsOf(r).map((d) => d.path)).toContain(path);
    expect(await fingerprint(redis, prefix)).toEqual(before);
  });
});

describe('recover and replay: bad input', () => {
  it.each<[string, unknown, string]>([
    ['recover', {}, '/since'],
    ['recover', { since: 'yesterday' }, '/since'],
    ['recover', { ...SINCE, until: '2000-01-01T00:00:00Z' }, '/until'],
    ['recover', { ...SINCE, types: ['alarm'] }, '/types'],
    ['replay', { since: 12 }, '/since'],
    ['replay', { ...SINCE, types: ['nope'] }, '/types/0'],
    ['replay', { ...SINCE, types: [] }, '/types'],
  ])('%s %j → 400, nothing changed', async (route, body, path) => {
    const before = await fingerprint(redis, prefix);
    const r = await api.call('POST', `/v1/webhooks/${hookId}/${route}`, { token: admin, body });
    expectError(r, 400, 'invalid_request');
    expect(detailsOf(r).map((d) => d.path)).toContain(path);
    expect(await fingerprint(redis, prefix)).toEqual(before);
  });

  it.each(['recover', 'replay'])('%s on a disabled webhook → 409 saying to enable it', async (route) => {
    const c = await api.call('POST', '/v1/webhooks', { token: admin, body: { ...BASE, enabled: false } });
    const before = await fingerprint(redis, prefix);
    const r = await api.call('POST', `/v1/webhooks/${c.body.id}/${route}`, { token: admin, body: SINCE });
    expectError(r, 409, 'webhook_disabled');
    expect(r.body.error.message).toMatch(/enable/);
    expect(await fingerprint(redis, prefix)).toEqual(before);
  });

  it('an empty window is 202 with a count of 0', async () => {
    const r1 = await api.call('POST', `/v1/webhooks/${hookId}/recover`, { token: admin, body: SINCE });
    expect(r1).toMatchObject({ status: 202, body: { deliveries: 0 } });
    const r2 = await api.call('POST', `/v1/webhooks/${hookId}/replay`, { token: admin, body: SINCE });
    expect(r2).toMatchObject({ status: 202, body: { events: 0 } });
  });
});

describe('tenancy and roles', () => {
  const routes = [
    ['rotate-secret', {}],
    ['recover', SINCE],
    ['replay', SINCE],
  ] as const;

  it.each(routes)("another org's webhook is 404 on %s, as an unknown one", async (route, body) => {
    const before = await fingerprint(redis, prefix);
    const r = await api.call('POST', `/v1/webhooks/${hookId}/${route}`, { token: otherAdmin, body });
    expectError(r, 404, 'not_found');
    const unknown = await api.call('POST', `/v1/webhooks/wh_nope/${route}`, { token: admin, body });
    expectError(unknown, 404, 'not_found');
    expect(r.body).toEqual(unknown.body);
    expect(await fingerprint(redis, prefix)).toEqual(before);
  });

  it.each(routes)('viewer and producer keys are 403 on %s', async (route, body) => {
    for (const token of [viewer, producer]) {
      expectError(await api.call('POST', `/v1/webhooks/${hookId}/${route}`, { token, body }), 403);
    }
  });
});

describe('GET /v1/event-types', () => {
  it('answers any key with every type, its topic, description, schema and example', async () => {
    for (const token of [admin, viewer, producer]) {
      const r = await api.call('GET', '/v1/event-types', { token });
      expect(r.status).toBe(200);
      expect(r.body.event_types.map((e: { type: string }) => e.type)).toEqual(EVENT_TYPE_NAMES);
      for (const e of r.body.event_types) {
        expect(Object.keys(e).sort()).toEqual(['description', 'example', 'schema', 'topic', 'type']);
      }
    }
  });

  it('every example is accepted by POST /v1/events as it is', async () => {
    const r = await api.call('GET', '/v1/event-types', { token: viewer });
    const events = r.body.event_types.map((e: { type: string; example: object }) => ({
      type: e.type,
      data: e.example,
    }));
    const sent = await api.call('POST', '/v1/events', { token: producer, body: { events } });
    expect(sent.status).toBe(202);
    expect(sent.body.accepted).toBe(events.length);
  });

  it('needs a key', async () => {
    expectError(await api.call('GET', '/v1/event-types', { token: null }), 401);
  });
});
