/**
 * The dashboard's own views: with one retry queue per shard (scale-out) each queue is listed under
 * its shard, every queue says what its job states mean for a delivery, and the header links to the
 * failing-receivers page.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import type { Queue } from 'bullmq';
import { RETRY_QUEUE, redisKeys } from '@devhooks/core';
import { createRetryQueues, DeliveryLog, silentLogger, type RetryJobData } from '@devhooks/engine';
import { BOARD_PATH, boardQueueName, boardQueuesOf, boardRouter, FAILING_PATH, QUEUE_DESCRIPTION } from '../src/board';
import { cleanPrefix, testPrefix, testRedis } from '../../../test/support/redis';

const prefix = testPrefix(__filename);
const redis = testRedis();
let server: http.Server;
let base: string;
let queues: Array<Queue<RetryJobData>>;

/** Starts a host serving a board over `shards` retry queues (each under its own shard's hash tag). */
async function serve(shards: number[] | undefined) {
  const keys = redisKeys(prefix);
  // one queue per shard, each under its shard's hash tag, as the service makes them
  const all = createRetryQueues(redis, keys, { shards: Math.max(...(shards ?? [0])) + 1, logTtlMs: 60_000 }).all;
  queues = (shards ?? [0]).map((n) => all[n]);
  const app = express();
  app.use(
    BOARD_PATH,
    boardRouter({
      queues: queues.map((queue, i) => ({ queue, shard: shards?.[i] })),
      deliveries: new DeliveryLog(redis, keys, { ttlMs: 60_000, maxPerWebhook: 10 }),
      logger: silentLogger(),
    }),
  );
  server = http.createServer(app);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}${BOARD_PATH}`;
}

afterEach(async () => {
  await new Promise((r) => server.close(r));
  await Promise.all(queues.map((q) => q.close()));
});
afterAll(async () => {
  await cleanPrefix(prefix);
  redis.disconnect();
});

const listed = async () => ((await (await fetch(`${base}/api/queues`)).json()) as { queues: any[] }).queues;

it('one queue: listed as `retries`, with what each state means for a delivery', async () => {
  await serve(undefined);
  const [q] = await listed();
  expect(q).toMatchObject({ name: RETRY_QUEUE, displayName: RETRY_QUEUE, readOnlyMode: false, allowRetries: true });
  expect(q.description).toBe(QUEUE_DESCRIPTION);
  for (const words of ['Delayed: waiting for its next attempt', 'Active: attempt in progress', 'Completed: delivered'])
    expect(q.description).toContain(words);
  expect(q.description).toMatch(/Failed: failed for good; Retry runs one more attempt now/);
});

it('one queue per shard: each listed, labelled with its shard', async () => {
  await serve([0, 3]);
  const qs = await listed();
  expect(qs.map((q) => [q.name, q.displayName]).sort()).toEqual([
    ['s0-retries', 'retries (shard 0)'],
    ['s3-retries', 'retries (shard 3)'],
  ]);
  // the name links elsewhere use (the failing-receivers page's jobs link) is the one listed
  expect(boardQueueName({ queue: queues[0], shard: 0 }, { repeated: true })).toBe('s0-retries');
  const [single] = boardQueuesOf([queues[0]]);
  expect(boardQueueName(single, { repeated: false })).toBe(RETRY_QUEUE);
});

it("the board's page carries its title and the link to the failing receivers", async () => {
  await serve(undefined);
  const html = await (await fetch(`${base}/`)).text();
  expect(html).toContain('devhooks retries');
  expect(html).toContain(FAILING_PATH);
});
