/**
 * The client against the real API and worker (in-process, real Redis, a loopback receiver): a
 * producer's events reach a webhook, whose receiver verifies the signature with `standardwebhooks`;
 * webhooks, deliveries, keys and errors through the typed methods.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { Webhook as StandardWebhook } from 'standardwebhooks';
import { startStack, type Stack } from '../../../test/support/stack';
import { eventually } from '../../../test/support/receiver';
import { DevhooksClient, DevhooksError } from './client';

let s: Stack;
let client: DevhooksClient;

// The receiver checks of this package's README, as written there.
function sameHex(given: unknown, expected: Buffer): boolean {
  const g = Buffer.from(typeof given === 'string' ? given : '', 'hex');
  return g.length === expected.length && timingSafeEqual(g, expected);
}
function verifyMender(rawBody: Buffer, headers: IncomingHttpHeaders, hexSecret: string): boolean {
  const mac = createHmac('sha256', Buffer.from(hexSecret, 'hex')).update(rawBody).digest();
  return sameHex(headers['x-men-signature'], mac);
}
function verifyMist(rawBody: Buffer, headers: IncomingHttpHeaders, secret: string): boolean {
  const mac = createHmac('sha256', Buffer.from(secret, 'utf8')).update(rawBody).digest();
  return sameHex(headers['x-mist-signature-v2'], mac);
}

beforeAll(async () => {
  s = await startStack(__filename, { worker: { DEVHOOKS_RETRY_SCHEDULE: '0' } });
  s.rx.respond = (r) => (r.path === '/down' ? { status: 500, body: 'down' } : { status: 200, body: 'ok' });
  client = new DevhooksClient({ baseUrl: `${s.api.base}/`, token: s.org.key });
});

afterAll(() => s.close());

describe('DevhooksClient', () => {
  it('tells its key who it is', async () => {
    expect(await client.whoami()).toMatchObject({ org_id: s.org.id, role: 'admin' });
  });

  it('creates a webhook, sends events to it, and the receiver verifies them with standardwebhooks', async () => {
    const hook = await client.webhooks.create({ name: 'fleet', url: s.rx.url('/fleet'), topics: ['deviceauth'] });
    expect(hook.secret).toMatch(/^whsec_/);
    const sent = await client.events.send([
      { type: 'device-provisioned', data: { id: 'dev-1' } },
      { type: 'device-status-changed', data: { id: 'dev-1', status: 'accepted' } },
    ]);
    expect(sent).toMatchObject({ accepted: 2, duplicates: 0 });
    const got = await s.rx.waitOn('/fleet', 2);
    const verifier = new StandardWebhook(hook.secret!);
    for (const r of got) {
      const payload = verifier.verify(r.body, r.headers as Record<string, string>) as { id: string };
      expect(sent.ids).toContain(payload.id);
    }
  });

  it("verifies Mender and Mist signatures the README's way (node:crypto, the raw body)", async () => {
    const menderSecret = 'a1b2c3d4e5f60718';
    const mistSecret = 'mist sécret';
    await client.webhooks.createMany([
      { name: 'mender', url: s.rx.url('/mender'), topics: ['inventory'], signing: 'mender', secret: menderSecret },
      { name: 'mist', url: s.rx.url('/mist'), topics: ['inventory'], signing: 'mist', secret: mistSecret },
    ]);
    await client.events.send({
      type: 'devices-inventory-changed',
      data: { device_id: 'd', inventory: [{ name: 'os', value: 'ünïcode', scope: 'inventory' }] },
    });
    const [mender] = await s.rx.waitOn('/mender', 1);
    const [mist] = await s.rx.waitOn('/mist', 1);
    expect(verifyMender(Buffer.from(mender.body), mender.headers, menderSecret)).toBe(true);
    expect(verifyMist(Buffer.from(mist.body), mist.headers, mistSecret)).toBe(true);
    // a body parsed and serialized again is not what was signed
    const reserialized = Buffer.from(JSON.stringify(JSON.parse(mender.body), null, 1));
    expect(verifyMender(reserialized, mender.headers, menderSecret)).toBe(false);
    expect(verifyMist(Buffer.from(mist.body), mist.headers, 'another secret')).toBe(false);
    for (const w of (await client.webhooks.list({ topic: 'inventory' })).webhooks) await client.webhooks.delete(w.id);
  });

  it('lists, reads, updates and pings webhooks', async () => {
    const list = await client.webhooks.list({ topic: 'deviceauth' });
    expect(list.total).toBe(1);
    const [hook] = list.webhooks;
    expect(await client.webhooks.get(hook.id)).toEqual(hook);
    const updated = await client.webhooks.update(hook.id, { name: 'fleet 2', site_id: 'site-1' });
    expect(updated).toMatchObject({ name: 'fleet 2', site_id: 'site-1', topics: ['deviceauth'] });
    const replaced = await client.webhooks.replace(hook.id, { name: 'fleet 3', url: hook.url, topics: ['alarms'] });
    expect(replaced).toMatchObject({ name: 'fleet 3', topics: ['alarms'], has_secret: true });
    expect(replaced.site_id ?? null).toBeNull();
    const ping = await client.webhooks.ping(hook.id);
    expect(ping).toMatchObject({ status: 'succeeded', status_code: 200 });
  });

  it('reads the delivery log, one delivery in full, and retries a failed one', async () => {
    const down = await client.webhooks.create({ name: 'down', url: s.rx.url('/down'), topics: ['audits'] });
    await client.events.send({ type: 'audit', data: { id: 'a1', message: 'm', timestamp: 1 } });
    const failed = await eventually(async () => {
      const page = await client.deliveries.list({ status: 'failed' });
      return page.total === 1 && page.deliveries[0];
    });
    expect(failed.webhook_id).toBe(down.id);
    expect((await client.deliveries.list({ webhook_id: down.id })).total).toBe(1);
    expect((await client.webhooks.deliveries(down.id, { status: 'succeeded' })).total).toBe(0);
    const detail = await client.deliveries.get(failed.id);
    expect(detail.attempt_log[0]).toMatchObject({ status_code: 500, response_body: 'down' });
    expect(detail.request.headers['webhook-signature']).toBe('[redacted]');
    expect(await client.deliveries.retry(failed.id)).toMatchObject({ delivery_id: failed.id, status: 'pending' });
    await eventually(async () => (await client.deliveries.get(failed.id)).attempt_log.length === 2);
    await client.webhooks.delete(down.id);
    await expect(client.webhooks.get(down.id)).rejects.toMatchObject({ status: 404, code: 'not_found' });
  });

  it("pages the org's log with the `next` cursor", async () => {
    const all = (await client.deliveries.list({ limit: 200 })).deliveries.map((d) => d.id);
    expect(all.length).toBeGreaterThan(2);
    const seen: string[] = [];
    for (let after: string | undefined; ;) {
      const page = await client.deliveries.list({ after, limit: 2 });
      seen.push(...page.deliveries.map((d) => d.id));
      if (!page.next) break;
      after = page.next;
    }
    expect(seen).toEqual(all);
  });

  it('lists orgs with the root token', async () => {
    const root = new DevhooksClient({ baseUrl: s.api.base, token: s.api.root });
    expect((await root.orgs.list()).map((o) => o.id)).toContain(s.org.id);
  });

  it("manages the org's keys", async () => {
    const created = await client.keys.create(s.org.id, { name: 'grafana', role: 'viewer' });
    expect(created.key.length).toBeGreaterThan(20);
    const viewer = new DevhooksClient({ baseUrl: s.api.base, token: created.key });
    expect((await viewer.whoami()).role).toBe('viewer');
    expect((await client.keys.list(s.org.id)).map((k) => k.name)).toContain('grafana');
    await client.keys.revoke(s.org.id, created.id);
    await expect(viewer.whoami()).rejects.toMatchObject({ status: 401, code: 'unauthorized' });
  });

  it("throws the API's errors with their code and details, and changes nothing", async () => {
    const before = await client.webhooks.list();
    const err: DevhooksError = await client.webhooks.create({ name: '', url: 'ftp://x', topics: [] }).then(
      () => Promise.reject(new Error('accepted')),
      (e) => e,
    );
    expect(err).toBeInstanceOf(DevhooksError);
    expect(err).toMatchObject({ status: 400, code: 'invalid_request' });
    expect(err.details.map((d) => d.path)).toEqual(expect.arrayContaining(['/name', '/topics']));
    expect((await client.webhooks.list()).total).toBe(before.total);
    const producer = new DevhooksClient({ baseUrl: s.api.base, token: await s.api.key(s.org.id, 'producer') });
    await expect(producer.webhooks.list()).rejects.toMatchObject({ status: 403, code: 'forbidden' });
  });
});
