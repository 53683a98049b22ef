/**
 * The stream trim of periodic upkeep over a real Redis: past retention, entries go once acknowledged,
 * except from the oldest entry whose delivery is still in an ordered chain (held behind a head that
 * retries for longer than retention).
 */
import { CONSUMER_GROUP } from '@devhooks/core';
import { testEngine, type TestEngine } from '../../../../test/support/engine';
import { redisForTestFile } from '../../../../test/support/redis';
import { maintain } from './maintenance';

const { keys, redis } = redisForTestFile(__filename);
let engine: TestEngine;

beforeAll(() => {
  engine = testEngine(redis, keys);
});
afterAll(async () => {
  await engine.close();
});

/** 1,000 acknowledged entries a day old on a shard's stream; their ids. */
async function oldAcknowledgedStream(shard: number): Promise<string[]> {
  const { stream } = keys.shard(shard);
  const t0 = Date.now() - 86_400_000;
  const ids = Array.from({ length: 1_000 }, (_, i) => `${t0 + i}-0`);
  const p = redis.pipeline();
  for (const id of ids) p.xadd(stream, id, 'e', 'x');
  await p.exec();
  await redis.xgroup('CREATE', stream, CONSUMER_GROUP, '0');
  await redis.xreadgroup('GROUP', CONSUMER_GROUP, 'c1', 'COUNT', 2_000, 'STREAMS', stream, '>');
  await redis.xack(stream, CONSUMER_GROUP, ...ids);
  return ids;
}

it('keeps the stream from the oldest chained delivery, and trims past retention without one', async () => {
  const chained = await oldAcknowledgedStream(0);
  const free = await oldAcknowledgedStream(1);
  // a delivery of the 500th entry is still held in its chain
  await redis.zadd(keys.shard(0).orderChained, chained[499].split('-')[0], 'dlv_held');
  // settled ordered deliveries: tombstones go with the entries that can no longer be read again
  await redis.zadd(
    keys.shard(0).orderDone,
    chained[10].split('-')[0],
    'dlv_old',
    chained[600].split('-')[0],
    'dlv_new',
  );
  const o = { consumer: 'c1', retentionMs: 3_600_000, deadConsumerMs: 86_400_000 };
  await maintain(engine.ctx, { ...o, shard: 0 });
  await maintain(engine.ctx, { ...o, shard: 1 });
  const s0 = keys.shard(0).stream;
  expect(await redis.xrange(s0, chained[499], chained[999])).toHaveLength(501);
  expect(await redis.xlen(s0)).toBeLessThan(1_000); // what came before it did go (trimmed by whole nodes)
  expect(await redis.xlen(keys.shard(1).stream)).toBeLessThan(free.length / 5);
  expect(await redis.zrange(keys.shard(0).orderDone, 0, -1)).toEqual(['dlv_new']);
});
