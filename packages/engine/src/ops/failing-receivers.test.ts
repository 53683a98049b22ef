/** The failing-receivers report over a real Redis and BullMQ queue, and the breaker states it joins. */
import { UnrecoverableError, Worker, type Queue } from 'bullmq';
import Redis from 'ioredis';
import { redisKeys } from '@devhooks/core';
import { cleanPrefix, testPrefix, testRedis, testRedisUrl } from '../../../../test/support/redis';
import { eventually } from '../../../../test/support/receiver';
import { OriginLimiter, DEFAULT_ORIGIN_LIMITER_OPTIONS } from '../delivery/origin-limiter';
import { createRetryQueues, type RetryJobData } from '../retry/retry-queue';
import { publishBreakerStates, readBreakerStates } from './breaker-states';
import { failingReceivers, FAILED_WINDOW_MS } from './failing-receivers';

const prefix = testPrefix(__filename);
const keys = redisKeys(prefix);
const A = 'https://a.example';
const B = 'https://b.example';
let redis: Redis;
let queue: Queue<RetryJobData>;
let worker: Worker<RetryJobData>;
let workerConnection: Redis;

const data = (id: string, webhook: string, receiver: string, over: Partial<RetryJobData> = {}): RetryJobData => ({
  deliveryId: id,
  org_id: 'org_1',
  webhook_id: webhook,
  webhook_name: `hook ${webhook}`,
  receiver,
  topic: 'deviceauth',
  events: 1,
  created_at: new Date(Date.now() - 60_000).toISOString(),
  attempt: 1,
  attempts_total: 8,
  next_attempt_at: new Date(Date.now() + 300_000).toISOString(),
  last_error: 'http_503',
  last_status_code: 503,
  ...over,
});

/** An origin limiter whose breaker for `origin` has seen `failures` unreachable attempts in a row. */
function limiterWith(origin: string, failures: number): OriginLimiter {
  const l = new OriginLimiter({ ...DEFAULT_ORIGIN_LIMITER_OPTIONS, breakerThreshold: 2 });
  for (let i = 0; i < failures; i++) {
    const a = l.admit(origin);
    if (!(a instanceof Promise) && a.ok) a.release(5, 'unreachable');
  }
  return l;
}

beforeAll(async () => {
  redis = testRedis();
  queue = createRetryQueues(redis, keys, { shards: 1, logTtlMs: 86_400_000 }).of(0);
  workerConnection = new Redis(testRedisUrl(), { maxRetriesPerRequest: null });
  // parks the jobs that say so in the failed list, as the retry worker does
  worker = new Worker<RetryJobData>(
    queue.name,
    async (job) => {
      throw new UnrecoverableError(`${job.data.last_error} after ${job.data.attempt} attempts`);
    },
    { connection: workerConnection, prefix: keys.tag },
  );
  await queue.addBulk([
    { name: 'deliver', data: data('d1', 'wh_a', A), opts: { jobId: 'd1', delay: 3_600_000 } },
    {
      name: 'deliver',
      data: data('d2', 'wh_a', A, { last_error: 'timeout', last_status_code: null }),
      opts: { jobId: 'd2', delay: 3_600_000 },
    },
    // put off on our side, never attempted: not failing
    {
      name: 'deliver',
      data: data('d3', 'wh_b', B, { attempt: 0, last_error: null }),
      opts: { jobId: 'd3', delay: 3_600_000 },
    },
    { name: 'deliver', data: data('d4', 'wh_b', B, { attempt: 8, next_attempt_at: null }), opts: { jobId: 'd4' } },
  ]);
  await eventually(async () => (await queue.getJobCounts('failed')).failed === 1);
  await redis.hset(keys.failingSince, 'wh_a', Date.now() - 120_000);
});
afterAll(async () => {
  await worker?.close();
  workerConnection?.disconnect();
  await queue.close();
  await cleanPrefix(prefix);
  redis.disconnect();
});

it('sums each failing webhook from the queue: pending after a failed attempt, failed in 24 h, last error, ages', async () => {
  await publishBreakerStates(redis, keys, 'worker-1', limiterWith(A, 2));
  await publishBreakerStates(redis, keys, 'worker-2', limiterWith(A, 1));
  const report = await failingReceivers({ redis, keys, queues: [queue] });
  expect(report.scanned).toEqual({ pending_jobs: 2, failed_jobs: 1, truncated: false });
  expect(report.receivers.map((r) => r.webhook_id)).toEqual(['wh_a', 'wh_b']);
  const [a, b] = report.receivers;
  expect(a).toMatchObject({
    webhook_name: 'hook wh_a',
    org_id: 'org_1',
    receiver: A,
    pending: 2,
    failed_24h: 0,
    last_error: expect.stringMatching(/^(http_503|timeout)$/),
    failing_since: expect.any(String),
    breaker: { origin: A, state: 'open', open_on: 1, workers: 2, consecutive_failures: 2 },
  });
  expect(a.oldest_pending_age_ms).toBeGreaterThanOrEqual(60_000);
  expect(b).toMatchObject({ pending: 0, failed_24h: 1, last_error: 'http_503', failing_since: null, breaker: null });

  // a day later the failure has left the window
  const later = await failingReceivers({ redis, keys, queues: [queue], now: Date.now() + FAILED_WINDOW_MS + 60_000 });
  expect(later.receivers.find((r) => r.webhook_id === 'wh_b')).toBeUndefined();
});

it('says when it read fewer jobs than the queue holds', async () => {
  const report = await failingReceivers({ redis, keys, queues: [queue], limit: 1 });
  expect(report.scanned.truncated).toBe(true);
});

it('ignores breaker states of workers that stopped publishing', async () => {
  await publishBreakerStates(redis, keys, 'gone', limiterWith(B, 3), Date.now() - 60_000);
  const states = await readBreakerStates(redis, keys);
  expect(states.has(B)).toBe(false);
  expect(states.get(A)?.state).toBe('open');
});
