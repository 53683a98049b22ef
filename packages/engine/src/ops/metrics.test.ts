/** Gauges read from a real Redis at scrape time: one value per stream shard, and the retry queue's counts. */
import { Registry } from 'prom-client';
import { redisForTestFile } from '../../../../test/support/redis';
import { createRetryQueues } from '../retry/retry-queue';
import { queueGauges, workerMetrics } from './metrics';

const { keys, redis } = redisForTestFile(__filename);

const valuesOf = async (registry: Registry, name: string) =>
  Object.fromEntries((await registry.getSingleMetric(name)!.get()).values.map((v) => [v.labels.stream ?? '', v.value]));

describe('queueGauges', () => {
  it('reports the backlog and the stream length of every shard, and the retries waiting', async () => {
    const registry = new Registry();
    const queues = createRetryQueues(redis, keys, { shards: 3, logTtlMs: 60_000 });
    const queue = queues.of(0);
    try {
      queueGauges(registry, redis, keys, queues.all);
      queueGauges(registry, redis, keys, queues.all); // a second call registers nothing twice
      await redis.set(keys.shard(0).backlog, 4);
      await redis.set(keys.shard(2).backlog, 7);
      for (let i = 0; i < 2; i++) await redis.xadd(keys.shard(1).stream, '*', 'e', String(i));
      await queue.add('deliver', { deliveryId: 'dlv_x' }, { delay: 60_000 });

      expect(await valuesOf(registry, 'devhooks_backlog_events')).toEqual({
        [keys.shard(0).stream]: 4,
        [keys.shard(1).stream]: 0,
        [keys.shard(2).stream]: 7,
      });
      expect(await valuesOf(registry, 'devhooks_stream_entries')).toEqual({
        [keys.shard(0).stream]: 0,
        [keys.shard(1).stream]: 2,
        [keys.shard(2).stream]: 0,
      });
      expect(await valuesOf(registry, 'devhooks_retries_pending')).toEqual({ '': 1 });
    } finally {
      await queues.close();
    }
  });

  it('worker metrics are made once per registry', () => {
    const registry = new Registry();
    expect(workerMetrics(registry)).toBe(workerMetrics(registry));
    expect(workerMetrics(new Registry())).not.toBe(workerMetrics(registry));
  });
});
