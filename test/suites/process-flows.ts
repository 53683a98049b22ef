/**
 * The real processes end to end (`node apps/api/dist/main.js`, `node apps/worker/dist/main.js`),
 * driven over HTTP with loopback receivers: bodies and signatures, matching, retries with the same
 * webhook-id, 400 at once, 410 disabling, batching, ping, and retry by hand. Run on a standalone
 * Redis (test/e2e) and on a Redis Cluster (test/cluster) by the same code.
 */
import { createHmac } from 'node:crypto';
import { Webhook as StandardWebhook } from 'standardwebhooks';
import { Client, ROOT } from '../support/api';
import type { Backend } from '../support/backend';
import { baseEnv, startApiProcess, startWorkerProcess, type Proc } from '../support/processes';
import { eventually, Receiver } from '../support/receiver';
import { testPrefix } from '../support/redis';

export function processFlows(file: string, backend: Backend): void {
  const prefix = testPrefix(file);
  const shared = {
    DEVHOOKS_ALLOW_PRIVATE_TARGETS: 'true',
    DEVHOOKS_RETRY_SCHEDULE: '0,300ms,300ms',
    DEVHOOKS_BATCH_WINDOW: '300ms',
  };
  let api: Proc;
  let worker: Proc;
  let client: Client;
  let rx: Receiver;
  let org: { id: string; key: string };

  beforeAll(async () => {
    await backend.start();
    rx = await Receiver.start();
    const env = { ...baseEnv(prefix, shared), ...backend.env() };
    const started = await startApiProcess({ ...env, DEVHOOKS_ADMIN_TOKEN: ROOT });
    api = started.proc;
    client = new Client(started.base);
    worker = await startWorkerProcess(env);
    org = await client.org('acme', 'admin');
  });
  afterAll(async () => {
    await worker?.kill('SIGTERM');
    await api?.kill('SIGTERM');
    await rx.close();
    await backend.stop(prefix);
  });

  async function webhook(body: Record<string, unknown>) {
    const r = await client.call('POST', '/v1/webhooks', { token: org.key, body: { name: 'w', ...body } });
    expect(r.status).toBe(201);
    return r.body;
  }
  async function send(body: unknown) {
    const r = await client.call('POST', '/v1/events', { token: org.key, body });
    expect(r.status).toBe(202);
    return r.body;
  }
  async function deliveries(webhookId: string, query = '') {
    return (await client.call('GET', `/v1/webhooks/${webhookId}/deliveries${query}`, { token: org.key })).body;
  }
  const hmac = (alg: string, key: Buffer, body: string) => createHmac(alg, key).update(body).digest('hex');

  it('signs every topic as its webhook asks, verified at the receiver', async () => {
    const std = await webhook({ url: rx.url('/std'), topics: ['deviceauth', 'inventory'] });
    await webhook({ url: rx.url('/mender'), topics: ['messages'], signing: 'mender', secret: 'a1b2c3d4' });
    await webhook({
      url: rx.url('/mist'),
      topics: ['audits', 'device-events', 'alarms'],
      signing: 'mist',
      secret: 'shh',
    });
    await send({
      events: [
        {
          id: 'p-1',
          type: 'device-provisioned',
          data: { id: 'dev-1', status: 'accepted', auth_sets: [], created_ts: '2024-01-01T00:00:00Z' },
        },
        {
          id: 'p-2',
          type: 'device-inventory-changed',
          data: { device_id: 'dev-1', inventory: [{ name: 'os', value: ['Linux'], scope: 'inventory' }] },
        },
        { id: 'p-3', type: 'message', data: { temperature: 21.5, unit: 'C' } },
        { id: 'p-4', type: 'audit', data: { id: 'a', message: 'x', timestamp: 1549049281.790302 } },
        { id: 'p-5', type: 'device-event', data: { type: 'AP_RESTARTED', timestamp: 1548095795 } },
        { id: 'p-6', type: 'alarm', data: { type: 'device_down', timestamp: 1625661567.201274 } },
      ],
    });
    for (const r of await rx.waitOn('/std', 2)) {
      expect(new StandardWebhook(std.secret).verify(r.body, r.headers as Record<string, string>)).toMatchObject({
        id: r.headers['webhook-id'],
      });
    }
    const [m] = await rx.waitOn('/mender', 1);
    expect(m.body).toBe('{"temperature":21.5,"unit":"C"}');
    expect(m.headers['x-men-signature']).toBe(hmac('sha256', Buffer.from('a1b2c3d4', 'hex'), m.body));
    const mist = await rx.waitOn('/mist', 3);
    expect(mist.map((r) => JSON.parse(r.body).topic).sort()).toEqual(['alarms', 'audits', 'device-events']);
    for (const r of mist) {
      expect(r.headers['x-mist-signature-v2']).toBe(hmac('sha256', Buffer.from('shh'), r.body));
      expect(r.headers['x-mist-signature']).toBe(hmac('sha1', Buffer.from('shh'), r.body));
    }
  });

  it('matches by org, site and group', async () => {
    await webhook({ url: rx.url('/m-site'), topics: ['alarms'], site_id: 's1', single_event_per_message: true });
    await webhook({ url: rx.url('/m-group'), topics: ['alarms'], group_id: 'g1', single_event_per_message: true });
    const other = await client.org('other', 'admin');
    await client.call('POST', '/v1/webhooks', {
      token: other.key,
      body: { name: 'o', url: rx.url('/m-other'), topics: ['alarms'] },
    });
    const alarm = (id: string, scope: object) => ({ id, type: 'alarm', data: { type: 't', timestamp: 1 }, ...scope });
    await send({
      events: [
        alarm('m1', { site_id: 's1' }),
        alarm('m2', { group_id: 'g1' }),
        alarm('m3', { site_id: 's1', group_id: 'g1' }),
        alarm('m4', {}),
      ],
    });
    await rx.waitOn('/m-site', 2);
    await rx.waitOn('/m-group', 2);
    expect(
      rx
        .on('/m-site')
        .map((r) => r.headers['webhook-id'])
        .sort(),
    ).toEqual(['m1', 'm3']);
    expect(
      rx
        .on('/m-group')
        .map((r) => r.headers['webhook-id'])
        .sort(),
    ).toEqual(['m2', 'm3']);
    expect(rx.on('/m-other')).toHaveLength(0);
  });

  it('retries 500s with the same webhook-id, fails 400 at once, and 410 disables', async () => {
    const flaky = await webhook({ url: rx.url('/e-flaky'), topics: ['deviceauth'] });
    const bad = await webhook({ url: rx.url('/e-bad'), topics: ['inventory'] });
    const gone = await webhook({ url: rx.url('/e-gone'), topics: ['messages'] });
    rx.respond = (r) => {
      if (r.path === '/e-flaky' && rx.on('/e-flaky').length < 3) return { status: 500 };
      if (r.path === '/e-bad') return { status: 400 };
      if (r.path === '/e-gone') return { status: 410 };
      return {};
    };
    await send({
      events: [
        { id: 'r-1', type: 'device-decommissioned', data: { id: 'd' } },
        { id: 'r-2', type: 'devices-inventory-changed', data: { device_id: 'd', inventory: [] } },
        { id: 'r-3', type: 'message', data: { v: 1 } },
      ],
    });
    const tries = await rx.waitOn('/e-flaky', 3);
    expect(tries.map((r) => r.headers['webhook-id'])).toEqual(['r-1', 'r-1', 'r-1']);
    await eventually(async () => (await deliveries(flaky.id)).deliveries[0]?.status === 'succeeded' || undefined);
    const badD = await eventually(async () => {
      const d = (await deliveries(bad.id)).deliveries[0];
      return d?.status === 'failed' ? d : undefined;
    });
    expect(badD).toMatchObject({ attempts: 1, status_code: 400 });
    const goneW = await eventually(async () => {
      const w = (await client.call('GET', `/v1/webhooks/${gone.id}`, { token: org.key })).body;
      return w.enabled === false ? w : undefined;
    });
    expect(goneW.disabled_reason).toMatch(/410/);
    expect(rx.on('/e-bad')).toHaveLength(1);

    // retry by hand: the 400 delivery goes again, with the same webhook-id
    rx.respond = undefined;
    expect((await client.call('POST', `/v1/deliveries/${badD.id}/retry`, { token: org.key })).status).toBe(202);
    const again = await rx.waitOn('/e-bad', 2);
    expect(again[1].headers['webhook-id']).toBe('r-2');
    await eventually(async () => (await deliveries(bad.id)).deliveries[0]?.status === 'succeeded' || undefined);
  });

  it('batches Mist topics and answers a ping after its first attempt', async () => {
    const w = await webhook({ url: rx.url('/batch'), topics: ['audits'] });
    await send({
      events: Array.from({ length: 7 }, (_, i) => ({
        type: 'audit',
        data: { id: `b${i}`, message: 'm', timestamp: i },
      })),
    });
    const [req] = await rx.waitOn('/batch', 1);
    expect(JSON.parse(req.body).events).toHaveLength(7);
    const ping = await client.call('POST', `/v1/webhooks/${w.id}/ping`, { token: org.key });
    expect(ping.status).toBe(200);
    expect(ping.body).toMatchObject({
      delivery_id: expect.stringMatching(/^dlv_/),
      status: 'succeeded',
      status_code: 200,
      duration_ms: expect.any(Number),
    });
    const pings = (await rx.waitOn('/batch', 2)).filter((r) => JSON.parse(r.body).topic === 'ping');
    expect(JSON.parse(pings[0].body).events[0]).toMatchObject({ id: w.id, name: 'w' });
  });
}
