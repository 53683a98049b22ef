/**
 * The safety nets of ordered delivery over a real Redis (ordering/release-sweep.ts): a released
 * head whose job its worker never added gets it, and a head that settled for good but was never
 * released (its worker died in between) is released.
 */
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
  const es = [await os.append(device), await os.append(device)];
  const ds = es.map((e) => os.delivery(t, e));
  await planOrdered(
    engine.ctx,
    shard,
    es.map((e) => e.entryId),
    ds,
  );
  await engine.ctx.deliveries.write([heldRecord(newRecordOf(ds[1]), ds[0].id)], { created: true });
  return { t, ds };
}

it('adds the job of a released delivery whose worker died before adding it', async () => {
  const { t, ds } = await chainOfTwo('s1');
  // the release script ran (its mark is left) but no job was added: as if the worker died
  const chain = keys.shard(shard).orderChain(t.id, 's1');
  expect(await orderingLua(redis).release(os.sk, chain, ds[0].id, Date.now() - 10_000)).toBe(ds[1].id);
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
  expect(await sweepStuckHeads(engine.ctx, shard, later)).toBe(0);
  // its record says succeeded, and the worker died before the release
  await engine.ctx.deliveries.write([{ ...newRecordOf(ds[0]), status: 'succeeded', next_attempt_at: null }], {
    created: true,
  });
  expect(await sweepStuckHeads(engine.ctx, shard, later)).toBe(1);
  const job = await engine.ctx.queues.of(shard).getJob(ds[1].id);
  expect(job?.data.deliveryId).toBe(ds[1].id);
  expect(await gateOrdered(engine.ctx, chainRefOfDelivery(ds[1])!)).toEqual({ kind: 'go' });
  await job!.remove();
});
