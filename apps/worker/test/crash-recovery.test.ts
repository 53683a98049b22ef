/**
 * Entries a dead consumer held are claimed by a live worker (XAUTOCLAIM); a re-read entry whose
 * delivery was already settled before the crash is not delivered, nor queued, again.
 */
import { CONSUMER_GROUP, deliveryHour, deliveryId } from '@devhooks/core';
import { Queue } from 'bullmq';
import { eventually } from '../../../test/support/receiver';
import { startStack, type Stack } from '../../../test/support/stack';

let s: Stack;
beforeAll(async () => {
  s = await startStack(__filename, {
    worker: { DEVHOOKS_DELIVERY_TIMEOUT: '300ms', DEVHOOKS_BATCH_WINDOW: '50ms', DEVHOOKS_CLAIM_IDLE: '1s' },
  });
});
afterAll(() => s.close());

/** Stops the worker, posts events and has a "ghost" consumer read them, as a worker that then died. */
async function orphan(events: unknown[]): Promise<string[]> {
  await s.worker.stop();
  await s.send({ events });
  const stream = s.keys.shard(0).stream;
  const read = (await s.redis.xreadgroup(
    'GROUP',
    CONSUMER_GROUP,
    'ghost',
    'COUNT',
    1000,
    'STREAMS',
    stream,
    '>',
  )) as Array<[string, Array<[string, string[]]>]>;
  return read[0][1].map(([id]) => id);
}

it('claims and delivers what a dead consumer left pending', async () => {
  await s.webhook({ url: s.rx.url('/claimed'), topics: ['deviceauth'] });
  const events = Array.from({ length: 20 }, (_, i) => ({
    id: `orphan-${i}`,
    type: 'device-decommissioned',
    data: { id: `d${i}` },
  }));
  const entries = await orphan(events);
  expect(entries).toHaveLength(20);
  const [pendingBefore] = (await s.redis.xpending(s.keys.shard(0).stream, CONSUMER_GROUP)) as [number];
  expect(pendingBefore).toBe(20);
  await s.restartWorker();
  const reqs = await s.rx.waitOn('/claimed', 20);
  expect(new Set(reqs.map((r) => r.headers['webhook-id'])).size).toBe(20);
  const pending = await eventually(async () => {
    const [n] = (await s.redis.xpending(s.keys.shard(0).stream, CONSUMER_GROUP)) as [number];
    return n === 0 ? 'none' : undefined;
  });
  expect(pending).toBe('none');
  expect(Number(await s.redis.get(s.keys.shard(0).backlog))).toBe(0);
});

it('does not deliver or queue again a re-read entry whose delivery had settled', async () => {
  const w = await s.webhook({ url: s.rx.url('/settled'), topics: ['deviceauth'] });
  const [entry] = await orphan([{ id: 'settled-1', type: 'device-decommissioned', data: { id: 'd' } }]);
  // the dead worker had delivered it and written its record, but died before acknowledging
  const id = deliveryId(entry, w.id, 1);
  const now = new Date().toISOString();
  await s.redis.hset(
    s.keys.deliveries(deliveryHour(id)!),
    id,
    JSON.stringify({
      id,
      org_id: s.org.id,
      webhook_id: w.id,
      event_ids: ['settled-1'],
      entry_ids: [entry],
      topic: 'deviceauth',
      message_id: 'settled-1',
      url: w.url,
      status: 'succeeded',
      attempts: 1,
      status_code: 200,
      error: null,
      created_at: now,
      updated_at: now,
      next_attempt_at: null,
      attempt_log: [],
    }),
  );
  await s.webhook({ url: s.rx.url('/marker'), topics: ['alarms'], single_event_per_message: true });
  await s.restartWorker();
  await eventually(async () => {
    const [n] = (await s.redis.xpending(s.keys.shard(0).stream, CONSUMER_GROUP)) as [number];
    return n === 0 ? true : undefined;
  });
  await s.send({ type: 'alarm', data: { type: 'marker', timestamp: 1 } });
  await s.rx.waitOn('/marker', 1);
  expect(s.rx.on('/settled')).toHaveLength(0);
  const queue = new Queue('retries', { connection: s.redis, prefix: s.keys.tag });
  expect(await queue.getJob(id)).toBeUndefined();
  await queue.close();
});
