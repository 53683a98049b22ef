/**
 * Sharded event streams on one Redis (DEVHOOKS_SHARDS=4; docs/contract.md §7): events land on their
 * partition key's shard, batches across shards are delivered whole, retries use their shard's queue.
 */
import { redisKeys, shardOf } from '@devhooks/core';
import { decodeEvent } from '@devhooks/engine';
import { eventually } from '../../../test/support/receiver';
import { startStack, type Stack } from '../../../test/support/stack';
import { startTestWorker } from '../../../test/support/worker';

const SHARDS = 4;
let s: Stack;

beforeAll(async () => {
  const env = { DEVHOOKS_SHARDS: String(SHARDS), DEVHOOKS_RETRY_SCHEDULE: '0,300ms,300ms' };
  s = await startStack(__filename, { api: env, worker: env });
});
afterAll(async () => {
  await s.close();
});

it('delivers every event of batches across shards once, each from its device’s shard', async () => {
  const w = await s.webhook({ topics: ['deviceauth'] });
  const devices = Array.from({ length: 16 }, (_, i) => `dev-${i}`);
  const events = devices.flatMap((d) =>
    [1, 2, 3].map((n) => ({ id: `${d}-${n}`, type: 'device-status-changed', data: { id: d, status: 'accepted' } })),
  );
  for (let i = 0; i < events.length; i += 20) await s.send({ events: events.slice(i, i + 20) });
  await s.rx.waitFor(events.length);
  const got = s.rx.requests.map((r) => r.headers['webhook-id']).sort();
  expect(got).toEqual(events.map((e) => e.id).sort());

  const keys = redisKeys(s.prefix);
  const onShard = new Map<string, number>();
  for (let shard = 0; shard < SHARDS; shard++) {
    for (const [, f] of await s.redis.xrange(keys.shard(shard).stream, '-', '+')) {
      const e = decodeEvent(f);
      if (e.device) onShard.set(e.device, shard);
    }
  }
  for (const d of devices) expect(onShard.get(d)).toBe(shardOf(s.org.id, d, SHARDS));

  // one record per delivery: entry ids repeat across shards' streams, delivery ids must not
  let total = 0;
  for (let i = 0; i < 50 && total < events.length; i++) {
    total = (await s.api.call('GET', `/v1/webhooks/${w.id}/deliveries?limit=1`, { token: s.org.key })).body.total;
    if (total < events.length) await new Promise((r) => setTimeout(r, 100));
  }
  expect(total).toBe(events.length);
});

it("keeps a delivery's retries in its shard's queue", async () => {
  const w = await s.webhook({ topics: ['inventory'] });
  s.rx.respond = (r) => ({ status: r.body.includes('retry-me') ? 503 : 200 });
  const before = s.rx.requests.length;
  const device = 'retry-me';
  await s.send({ id: 'inv-1', type: 'devices-inventory-changed', data: { device_id: device, inventory: [] } });
  await s.rx.waitFor(before + 3); // the schedule's three attempts
  const shard = shardOf(s.org.id, device, SHARDS);
  let delivery: { id: string; status: string; attempts: number } | undefined;
  for (let i = 0; i < 50 && delivery?.status !== 'failed'; i++) {
    const res = await s.api.call('GET', `/v1/webhooks/${w.id}/deliveries`, { token: s.org.key });
    delivery = res.body.deliveries[0];
    if (delivery?.status !== 'failed') await new Promise((r) => setTimeout(r, 100));
  }
  expect(delivery).toMatchObject({ status: 'failed', attempts: 3 });
  const queues = s.api.api.deps.queues;
  for (let q = 0; q < SHARDS; q++) {
    const job = await queues.of(q).getJob(delivery!.id);
    if (q === shard) expect(await job?.getState()).toBe('failed');
    else expect(job).toBeUndefined();
  }
  s.rx.respond = undefined;
});

it('batches a Mist topic across shards into one delivery, and retries it whole', async () => {
  const w = await s.webhook({ topics: ['audits'] });
  let tries = 0;
  s.rx.respond = (r) => (r.body.includes('"topic":"audits"') && ++tries === 1 ? { status: 503 } : { status: 200 });
  const before = s.rx.requests.length;
  // audit events have no device: each goes to the shard of its own id
  const events = Array.from({ length: 8 }, (_, i) => ({
    id: `audit-${i}`,
    type: 'audit',
    data: { id: `a${i}`, message: 'm', timestamp: i },
  }));
  expect(new Set(events.map((e) => shardOf(s.org.id, e.id, SHARDS))).size).toBeGreaterThan(1);
  await s.send({ events });
  await s.rx.waitFor(before + 2);
  const [first, second] = s.rx.requests.slice(before);
  expect(JSON.parse(first.body).events).toHaveLength(8);
  expect(second.body).toBe(first.body);
  expect(second.headers['webhook-id']).toBe(first.headers['webhook-id']);
  const list = await eventually(async () => {
    const r = await s.api.call('GET', `/v1/webhooks/${w.id}/deliveries`, { token: s.org.key });
    return r.body.deliveries[0]?.status === 'succeeded' ? r : undefined;
  });
  expect(list.body.deliveries[0]).toMatchObject({ status: 'succeeded', attempts: 2 });
  const detail = await s.api.call('GET', `/v1/deliveries/${list.body.deliveries[0].id}`, { token: s.org.key });
  expect(detail.body.request.body).toBe(first.body);
  s.rx.respond = undefined;
});

it('refuses to start a worker with fewer shards than the deployment has used, saying how to fix it', async () => {
  await expect(startTestWorker(s.prefix, { DEVHOOKS_SHARDS: '2' })).rejects.toThrow(
    /DEVHOOKS_SHARDS=2, but this deployment .* has used 4 shards.*DEVHOOKS_SHARDS=4 or more/,
  );
});
