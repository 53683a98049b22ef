/**
 * The retry supervisor (retry-supervisor.ts) against the real Redis: a shard's worker that takes
 * nothing (as one whose blocking connection was lost in a failover) is replaced once a waiting job
 * has waited past the bound with no job of the queue active, and the new worker runs it.
 */
import IORedis from 'ioredis';
import { Worker } from 'bullmq';
import { RETRY_QUEUE } from '@devhooks/core';
import { redisForTestFile, testRedisUrl } from '../../../../test/support/redis';
import { eventually } from '../../../../test/support/receiver';
import { silentLogger } from '../ops/logger';
import { createRetryQueues, type RetryJobData } from './retry-queue';
import { RetryWorkers } from './retry-supervisor';

const { keys, redis } = redisForTestFile(__filename);
const blocking = new IORedis(testRedisUrl(), { maxRetriesPerRequest: null });
afterAll(() => blocking.quit());

it('replaces a worker that takes nothing once a waiting job waited past the bound with none active', async () => {
  const queues = createRetryQueues(redis, keys, { shards: 1, logTtlMs: 60_000 });
  const ran: string[] = [];
  let made = 0;
  const workers = new RetryWorkers(
    queues,
    () =>
      new Worker<RetryJobData>(
        RETRY_QUEUE,
        async (job) => {
          ran.push(job.id!);
          return 'ran';
        },
        {
          connection: blocking,
          // the first one consumes a queue nobody adds to: it takes nothing, like a lost connection
          prefix: made++ === 0 ? `${keys.shard(0).queuePrefix}-nowhere` : keys.shard(0).queuePrefix,
          autorun: false,
        },
      ),
    silentLogger(),
  );
  workers.start();
  try {
    await queues.of(0).add('deliver', { deliveryId: 'dlv_waiting' } as RetryJobData, { jobId: 'dlv_waiting' });
    await workers.check(); // just added: not overdue yet
    expect(made).toBe(1);
    await workers.check(Date.now() + 20_000); // waited past the bound, nothing active
    expect(made).toBe(2);
    expect(await eventually(() => (ran.includes('dlv_waiting') ? ran : undefined), 10_000)).toContain('dlv_waiting');
  } finally {
    await workers.close(1_000);
    await queues.close();
  }
});
