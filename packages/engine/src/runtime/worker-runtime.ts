/**
 * A worker process's engine: the stream consumer (fan-out and first attempts), the BullMQ retry
 * worker, and upkeep, over their own Redis connections, with an orderly drain.
 */
import os from 'node:os';
import { randomBytes } from 'node:crypto';
import type { Registry } from 'prom-client';
import { redisKeys, scheduleHorizon, SecretBox, type SharedSettings } from '@devhooks/core';
import type { EngineContext } from './engine-context';
import { DeliveryLog } from '../stores/delivery-log';
import { OriginLimiter, type OriginLimiterOptions } from '../delivery/origin-limiter';
import { StreamConsumer } from '../delivery/fanout';
import type { Logger } from '../ops/logger';
import { maintain } from '../ops/maintenance';
import { queueGauges, workerMetrics } from '../ops/metrics';
import { connectRedis, waitForRedis } from '../redis/connection';
import { createRetryQueue } from '../retry/retry-queue';
import { createRetryWorker } from '../retry/retry-worker';
import { Sender } from '../delivery/sender';
import { WebhookDirectory } from '../stores/webhook-directory';
import { WebhookStore } from '../stores/webhook-store';
import { resealWebhookSecrets } from '../stores/secret-reseal';
import { backfillDeliveryIndexes } from '../stores/delivery-log-backfill';

export interface WorkerRuntimeConfig extends SharedSettings {
  endpoint: OriginLimiterOptions;
  readCount: number;
  maxInProgress: number;
  claimIdleMs: number;
  retryConcurrency: number;
  disableAfterFailingMs: number;
  /** Name in the consumer group; defaults to host-pid-random. */
  consumerName?: string;
}

export interface WorkerRuntime {
  consumer: string;
  context: EngineContext;
  /** Stops taking work and drains within the deadline; resolves true when nothing was left behind. */
  stop(deadlineMs: number): Promise<boolean>;
}

const SHARD = 0;

export async function startWorkerRuntime(
  cfg: WorkerRuntimeConfig,
  logger: Logger,
  registry: Registry,
): Promise<WorkerRuntime> {
  const keys = redisKeys(cfg.prefix);
  const consumer = cfg.consumerName ?? `${os.hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
  const redis = connectRedis(cfg.redisUrl, { name: 'devhooks-worker', autoPipelining: true });
  const reader = connectRedis(cfg.redisUrl, { name: 'devhooks-worker-stream', blocking: true });
  const bullConnection = connectRedis(cfg.redisUrl, { name: 'devhooks-worker-retries', blocking: true });
  await waitForRedis(redis, 30_000);

  const metrics = workerMetrics(registry);
  const queue = createRetryQueue(redis, keys, cfg.logTtlMs, (err) =>
    logger.warn('retry queue error', { error: err.message }),
  );
  queueGauges(registry, redis, keys, queue);
  const box = new SecretBox(cfg.encryption);
  const ctx: EngineContext = {
    redis,
    keys,
    logger,
    directory: new WebhookDirectory(redis, keys, box),
    webhooks: new WebhookStore(redis, keys, box),
    deliveries: new DeliveryLog(redis, keys, { ttlMs: cfg.logTtlMs, maxPerWebhook: cfg.logMaxPerWebhook }),
    sender: new Sender({
      timeoutMs: cfg.deliveryTimeoutMs,
      allowPrivateTargets: cfg.allowPrivateTargets,
      connectionsPerOrigin: cfg.endpoint.concurrency,
    }),
    origins: new OriginLimiter(cfg.endpoint, (origin, n) => {
      if (n === 0) metrics.inFlight.remove({ origin });
      else metrics.inFlight.set({ origin }, n);
    }),
    queue,
    metrics,
    schedule: cfg.schedule,
    logTtlMs: cfg.logTtlMs,
    batchWindowMs: cfg.batchWindowMs,
    deliveryTimeoutMs: cfg.deliveryTimeoutMs,
    disableAfterFailingMs: cfg.disableAfterFailingMs,
  };

  const stream = new StreamConsumer(ctx, reader, {
    consumer,
    shard: SHARD,
    readCount: cfg.readCount,
    maxInProgress: cfg.maxInProgress,
    claimIdleMs: cfg.claimIdleMs,
    blockMs: 1_000,
    flushMs: 25,
  });
  const retries = createRetryWorker(ctx, bullConnection, {
    concurrency: cfg.retryConcurrency,
    lockDurationMs: cfg.deliveryTimeoutMs + 30_000,
    shard: SHARD,
  });

  await stream.start();
  void retries.run();
  const retentionMs = Math.max(cfg.logTtlMs, scheduleHorizon(cfg.schedule) + 3_600_000);
  const upkeep = setInterval(() => {
    maintain(ctx, { shard: SHARD, consumer, retentionMs, deadConsumerMs: 24 * 3_600_000 }).catch((err) =>
      logger.warn('upkeep failed', { error: (err as Error).message }),
    );
  }, 30_000);
  upkeep.unref();
  // secrets not yet under the current encryption key (plain, or the old key's) are resealed once per start
  resealWebhookSecrets(redis, keys, box)
    .then((r) => {
      const fields = {
        webhooks: r.webhooks,
        resealed: r.resealed,
        unavailable: r.unavailable,
        key_ids: r.unavailableKeys,
      };
      if (r.unavailable) logger.error('webhook secrets sealed under an unknown encryption key', fields);
      else if (r.resealed) logger.info('webhook secrets re-encrypted', fields);
    })
    .catch((err) => logger.warn('re-encryption pass failed', { error: (err as Error).message }));
  // delivery records from before the log's facets existed get them (once; then one EXISTS per webhook)
  backfillDeliveryIndexes(redis, keys, ctx.deliveries)
    .then((n) => n && logger.info('delivery log indexed', { records: n }))
    .catch((err) => logger.warn('delivery log indexing failed', { error: (err as Error).message }));
  logger.info('worker started', { consumer, prefix: cfg.prefix, secrets_encrypted: box.sealing });

  return {
    consumer,
    context: ctx,
    async stop(deadlineMs: number): Promise<boolean> {
      clearInterval(upkeep);
      const started = Date.now();
      const closeRetries = (async () => {
        const graceful = retries.close();
        const timer = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), deadlineMs).unref());
        if ((await Promise.race([graceful.then(() => 'ok' as const), timer])) === 'timeout') await retries.close(true);
      })();
      const [{ drained }] = await Promise.all([stream.stop(deadlineMs), closeRetries]);
      await ctx.sender.destroy().catch(() => undefined);
      await queue.close().catch(() => undefined);
      await Promise.all([redis.quit(), bullConnection.quit()].map((p) => p.catch(() => undefined)));
      logger.info('worker stopped', { consumer, drained, ms: Date.now() - started });
      return drained;
    },
  };
}
