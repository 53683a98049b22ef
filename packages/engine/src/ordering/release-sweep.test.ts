/**
 * The safety nets of ordered delivery over a real Redis (ordering/release-sweep.ts): a released
 * head whose job its worker never added gets it, and a head that settled for good but was never
 * released (its worker died in between) is released.
 */
import { deliveryHour } from '@devhooks/core';
import { testEngine, type TestEngine } from '../../../../test/support/engine';
import { orderedStream } from '../../../../test/support/ordered-stream';
import { redisForTestFile } from '../../../../test/support/redis';
import { orderingLua } from '../redis/ordering-lua';
import { chainRefOfDelivery, gateOrdered, heldRecord, newRecordOf, planOrdered } from './chains';
import { sweepReleased, sweepStuckHeads } from './release-sweep';

const { keys, redis } = redisForTestFile(__filename);
let engine: TestEngine;
const shard = 0;
const os = orderedStream(redis, keys, shard);

beforeAll(async () => {
  engine = testEngine(redis, keys, { schedule: [0, 100, 100] });
  await os.create();
});
afterAll(async () => {
  await engine.close();
});
afterEach(() => os.catchUp(engine.ctx));

/** Two events of one device planned: the first is the head, the second held behind it (record written). */
async function chainOfTwo(device: string) {
  const t = os.webhook();
  const { ds } = await os.chain(engine.ctx, t, device);
  return { t, ds };
}

it('adds the job of a released delivery whose worker died before adding it', async () => {
  const { t, ds } = await chainOfTwo('s1');
  // the release script ran (its mark is left) but no job was added: as if the worker died
  const chain = keys.shard(shard).orderChain(t.id, 's1');
  expect(
    await orderingLua(redis).release(os.sk, chain, ds[0].id, { now: Date.now() - 10_000, consumer: 'worker-a' }),
  ).toEqual({ released: true, head: ds[1].id });
  expect(await engine.ctx.queues.of(shard).getJob(ds[1].id)).toBeUndefined();
  expect(await sweepReleased(engine.ctx, shard)).toBe(1);
  const job = await engine.ctx.queues.of(shard).getJob(ds[1].id);
  expect(job?.data.deliveryId).toBe(ds[1].id);
  await job!.remove();
});

it('releases a head that succeeded but was left in its chain, and not a head still pending', async () => {
  const { ds } = await chainOfTwo('h1');
  const later = Date.now() + 60_000;
  // the head's first attempt is under way (no record yet): nothing to do
  expect(await sweepStuckHeads(engine.ctx, shard, { now: later })).toBe(0);
  // its record says succeeded, and the worker died before the release
  await engine.ctx.deliveries.write([{ ...newRecordOf(ds[0]), status: 'succeeded', next_attempt_at: null }], {
    created: true,
  });
  expect(await sweepStuckHeads(engine.ctx, shard, { now: later })).toBe(1);
  const job = await engine.ctx.queues.of(shard).getJob(ds[1].id);
  expect(job?.data.deliveryId).toBe(ds[1].id);
  expect(await gateOrdered(engine.ctx, chainRefOfDelivery(ds[1])!)).toEqual({ kind: 'go' });
  await job!.remove();
});

it('releases chained deliveries whose record stays gone from the log (expired), so the chain moves on', async () => {
  const { t, ds } = await chainOfTwo('g1');
  const third = os.delivery(t, await os.append('g1'));
  await planOrdered(engine.ctx, shard, [third.entryIds[0]], [third]);
  await engine.ctx.deliveries.write([heldRecord(newRecordOf(third), ds[1].id)], { created: true });
  const later = Date.now() + 60_000;
  // the head has no record (its hour expired while it waited for a retry): not at once, after orphanAfterMs
  expect(await sweepStuckHeads(engine.ctx, shard, { now: later, orphanAfterMs: 1_000 })).toBe(0);
  expect(await sweepStuckHeads(engine.ctx, shard, { now: later + 1_000, orphanAfterMs: 1_000 })).toBe(1);
  const second = await engine.ctx.queues.of(shard).getJob(ds[1].id);
  expect(second?.data.deliveryId).toBe(ds[1].id);
  await second!.remove();
  // the released second one's record is gone before its job ran: its mark is swept the same way
  await redis.hdel(keys.deliveries(deliveryHour(ds[1].id)!), ds[1].id);
  const o = { orphanAfterMs: 1_000 };
  await sweepReleased(engine.ctx, shard, { ...o, now: later + 10_000 });
  expect(await redis.zscore(os.sk.orderReleased, ds[1].id)).not.toBeNull();
  await sweepReleased(engine.ctx, shard, { ...o, now: later + 11_000 });
  expect(await redis.zscore(os.sk.orderReleased, ds[1].id)).toBeNull();
  expect(await gateOrdered(engine.ctx, chainRefOfDelivery(third)!)).toEqual({ kind: 'go' });
  const job = await engine.ctx.queues.of(shard).getJob(third.id);
  expect(job?.data.deliveryId).toBe(third.id);
  await job!.remove();
});
