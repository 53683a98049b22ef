/** Scrape-time gauges from a real Redis: the oldest unacknowledged entry per stream, and memory per master. */
import { CONSUMER_GROUP } from '@devhooks/core';
import { Registry } from 'prom-client';
import { redisForTestFile } from '../../../../test/support/redis';
import { oldestPendingAgeSeconds, oldestUnackedId } from '../redis/stream-age';
import { memoryOf, nodeName, redisGauges } from './redis-gauges';

const { keys, redis } = redisForTestFile(__filename);

const valuesOf = async (registry: Registry, name: string, label: string) =>
  Object.fromEntries((await registry.getSingleMetric(name)!.get()).values.map((v) => [v.labels[label], v.value]));

describe('oldest unacknowledged entry of a stream', () => {
  const stream = keys.shard(0).stream;
  const t0 = 1_700_000_000_000;
  const ids = [`${t0}-0`, `${t0 + 10_000}-0`, `${t0 + 20_000}-0`];

  beforeAll(async () => {
    await redis.del(stream);
  });

  it('is none for a stream that does not exist, and the first entry before any group reads', async () => {
    expect(await oldestUnackedId(redis, stream, CONSUMER_GROUP)).toBe('');
    for (const id of ids) await redis.xadd(stream, id, 'e', 'x');
    expect(await oldestUnackedId(redis, stream, CONSUMER_GROUP)).toBe(ids[0]);
  });

  it('is the smallest pending id while one is read and not acknowledged', async () => {
    await redis.xgroup('CREATE', stream, CONSUMER_GROUP, '0');
    expect(await oldestUnackedId(redis, stream, CONSUMER_GROUP)).toBe(ids[0]); // nothing read: the first
    await redis.xreadgroup('GROUP', CONSUMER_GROUP, 'c1', 'COUNT', 2, 'STREAMS', stream, '>');
    await redis.xack(stream, CONSUMER_GROUP, ids[0]);
    expect(await oldestUnackedId(redis, stream, CONSUMER_GROUP)).toBe(ids[1]);
    expect(await oldestPendingAgeSeconds(redis, stream, CONSUMER_GROUP, t0 + 70_000)).toBe(60);
  });

  it('is the first entry past the last delivered one when nothing is pending, then none', async () => {
    await redis.xack(stream, CONSUMER_GROUP, ids[1]);
    expect(await oldestUnackedId(redis, stream, CONSUMER_GROUP)).toBe(ids[2]);
    await redis.xreadgroup('GROUP', CONSUMER_GROUP, 'c1', 'COUNT', 5, 'STREAMS', stream, '>');
    await redis.xack(stream, CONSUMER_GROUP, ids[2]);
    expect(await oldestUnackedId(redis, stream, CONSUMER_GROUP)).toBe('');
    expect(await oldestPendingAgeSeconds(redis, stream, CONSUMER_GROUP)).toBe(0);
  });
});

describe('redisGauges', () => {
  it('reports the oldest pending age per stream and the memory of the Redis master', async () => {
    const registry = new Registry();
    const s1 = keys.shard(1).stream;
    await redis.del(s1);
    await redis.xadd(s1, `${Date.now() - 120_000}-0`, 'e', 'x');
    redisGauges(registry, redis, keys, 2);
    const ages = await valuesOf(registry, 'devhooks_oldest_pending_age_seconds', 'stream');
    expect(Object.keys(ages).sort()).toEqual([keys.shard(0).stream, s1].sort());
    expect(ages[s1]).toBeGreaterThanOrEqual(120);

    const used = await valuesOf(registry, 'devhooks_redis_memory_used_bytes', 'node');
    const max = await valuesOf(registry, 'devhooks_redis_maxmemory_bytes', 'node');
    expect(Object.keys(used)).toEqual([nodeName(redis)]);
    expect(used[nodeName(redis)]).toBeGreaterThan(0);
    expect(max[nodeName(redis)]).toBe(memoryOf(await redis.info('memory'))!.max);
  });

  it('reads used_memory and maxmemory out of INFO memory', () => {
    const info = '# Memory\r\nused_memory:1048576\r\nused_memory_human:1.00M\r\nmaxmemory:0\r\nmaxmemory_human:0B\r\n';
    expect(memoryOf(info)).toEqual({ used: 1048576, max: 0 });
    expect(memoryOf('')).toBeUndefined();
  });
});
