/**
 * The "naive" baseline's consumer, in its own process like a devhooks worker: a BullMQ Worker at
 * concurrency 50 that POSTs each job's payload with got (one job = one delivery).
 *
 * env: REDIS_URL, NAIVE_PREFIX (BullMQ prefix), NAIVE_QUEUE, NAIVE_CONCURRENCY (default 50).
 * Tells the parent {type: 'ready'} over IPC once the worker runs; exits on {cmd: 'stop'}.
 */
import { Worker } from 'bullmq';
import IORedis from 'ioredis';

const { default: got } = await import('got'); // got 14 is ESM-only

const connection = new IORedis(process.env.REDIS_URL || 'redis://127.0.0.1:6379', { maxRetriesPerRequest: null });
let failures = 0;

const worker = new Worker(
  process.env.NAIVE_QUEUE,
  async (job) => {
    const { url, event } = job.data;
    await got.post(url, { json: event, timeout: { request: 15_000 }, retry: { limit: 0 } });
  },
  {
    connection,
    prefix: process.env.NAIVE_PREFIX,
    concurrency: Number(process.env.NAIVE_CONCURRENCY || 50),
    removeOnComplete: { count: 1000 },
    removeOnFail: { count: 1000 },
  },
);
worker.on('failed', (job, err) => {
  if (failures++ < 5) process.stderr.write(`naive worker: job ${job?.id} failed: ${err.message}\n`);
});
worker.on('error', (err) => process.stderr.write(`naive worker error: ${err.message}\n`));
await worker.waitUntilReady();
process.send?.({ type: 'ready' });

async function stop() {
  await worker.close().catch(() => undefined);
  await connection.quit().catch(() => undefined);
  process.send?.({ type: 'stopped', failures });
  process.exit(0);
}
process.on('message', (m) => m?.cmd === 'stop' && void stop());
process.on('disconnect', () => process.exit(0));
process.on('SIGTERM', () => void stop());
