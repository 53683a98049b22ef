/**
 * A worker process's engine: one stream consumer per event-stream shard (fan-out and first
 * attempts), the BullMQ retry worker, and upkeep, over their own Redis connections, with an
 * orderly drain.
 */
import os from 'node:os';
import { randomBytes } from 'node:crypto';
import type { Registry } from 'prom-client';
import { redisKeys, scheduleHorizon, type SharedSettings } from '@devhooks/core';
import { AttemptLog } from '../delivery/attempt-log';
import { StreamConsumer } from '../delivery/fanout';
import { FanoutGroup } from '../delivery/fanout-group';
import { OriginLimiter, type OriginLimiterOptions } from '../delivery/origin-limiter';
import { ParkedWaker } from '../delivery/parked';
import { Sender } from '../delivery/sender';
import { StreamLease } from '../log/stream-lease';
import { WorkerLiveness } from '../log/liveness';
import { defaultPerOrigin } from '../delivery/origin-slots';
import type { Logger } from '../ops/logger';
import { startBreakerPublisher } from '../ops/breaker-states';
import { maintain } from '../ops/maintenance';
import { sweepReleased, sweepStuckHeads } from '../ordering/release-sweep';
import { queueGauges, workerMetrics } from '../ops/metrics';
import { connectRedis, waitForRedis } from '../redis/connection';
import { RetryWorkers } from '../retry/retry-supervisor';
import { createRetryWorker } from '../retry/retry-worker';
import { WebhookDirectory } from '../stores/webhook-directory';
import type { EngineContext } from './engine-context';
import { recordShardCount } from './shard-count';
import { createStores } from './stores';
import { resealWebhookSecrets } from '../stores/secret-reseal';
import { backfillDeliveryIndexes } from '../stores/delivery-log-backfill';

export interface WorkerRuntimeConfig extends SharedSettings {
  endpoint: OriginLimiterOptions;
  readCount: number;
  maxInProgress: number;
  claimIdleMs: number;
  /** Deliveries to one origin held in progress by the process (split between shards); default an eighth of `maxInProgress`. */
  maxInProgressPerOrigin?: number;
  /** A worker that has not said it is alive for this long is taken over (log/liveness.ts); default 3 s. */
  livenessMs?: number;
  retryConcurrency: number;
  disableAfterFailingMs: number;
  /** Longest hold chain of one webhook and device (DEVHOOKS_ORDER_HOLD_MAX); default 10,000. */
  orderHoldMax?: number;
  /** Name in the consumer group; defaults to host-pid-random. */
  consumerName?: string;
}

export interface WorkerRuntime {
  consumer: string;
  context: EngineContext;
  /** Stops taking work and drains within the deadline; resolves true when nothing was left behind. */
  stop(deadlineMs: number): Promise<boolean>;
}

const UPKEEP_EVERY_MS = 30_000;
const DEAD_CONSUMER_MS = 24 * 3_600_000;
const DEFAULT_LIVENESS_MS = 3_000;
const RELEASE_SWEEP_EVERY_MS = 2_000;

export async function startWorkerRuntime(
  cfg: WorkerRuntimeConfig,
  logger: Logger,
  registry: Registry,
): Promise<WorkerRuntime> {
  const keys = redisKeys(cfg.prefix);
  const consumer = cfg.consumerName ?? `${os.hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
  const redis = connectRedis(cfg, { name: 'devhooks-worker', autoPipelining: true });
  const bullConnection = connectRedis(cfg, { name: 'devhooks-worker-retries', blocking: true });
  await waitForRedis(redis, 30_000);
  await recordShardCount(redis, keys, cfg.shards).catch((err) => {
    redis.disconnect();
    bullConnection.disconnect();
    throw err;
  });

  const metrics = workerMetrics(registry);
  if (cfg.metricsTopOrigins) metrics.inFlight.top = cfg.metricsTopOrigins;
  const { webhooks, deliveries, queues, secrets: box } = createStores(redis, keys, cfg, logger);
  queueGauges(registry, redis, keys, queues.all);
  const ctx: EngineContext = {
    redis,
    keys,
    shards: cfg.shards,
    logger,
    attemptLog: new AttemptLog(logger),
    directory: new WebhookDirectory(redis, keys, box),
    webhooks,
    deliveries,
    sender: new Sender({
      timeoutMs: cfg.deliveryTimeoutMs,
      allowPrivateTargets: cfg.allowPrivateTargets,
      connectionsPerOrigin: cfg.endpoint.concurrency,
    }),
    origins: new OriginLimiter(cfg.endpoint, (origin, n) => metrics.inFlight.set(origin, n)),
    queues,
    metrics,
    schedule: cfg.schedule,
    batchWindowMs: cfg.batchWindowMs,
    disableAfterFailingMs: cfg.disableAfterFailingMs,
    orderHoldMax: cfg.orderHoldMax,
    // from a chain's go to the attempt's end: a wait for a slot, the request, a margin
    orderLeaseMs: cfg.deliveryTimeoutMs + cfg.endpoint.maxWaitMs + 10_000,
  };

  // each shard's reader blocks on XREADGROUP: a connection of its own
  const livenessMs = cfg.livenessMs ?? DEFAULT_LIVENESS_MS;
  const shardKeys = Array.from({ length: cfg.shards }, (_, n) => keys.shard(n));
  const liveness = new WorkerLiveness(
    redis,
    shardKeys.map((k) => k.liveness),
    consumer,
    livenessMs,
    logger,
  );
  ctx.consumer = consumer;
  ctx.liveness = liveness;
  // deliveries parked behind a breaker are woken when their receiver answers again: a probe that
  // closes it, or an answer seen by any worker (the one that parked them may be dead; delivery/parked.ts)
  const waker = new ParkedWaker(ctx);
  ctx.origins.onReachable = (origin) => waker.wake(origin);
  const perOrigin = cfg.maxInProgressPerOrigin ?? defaultPerOrigin(cfg.maxInProgress);
  const fanout = new FanoutGroup(ctx, perOrigin);
  for (let shard = 0; shard < cfg.shards; shard++) {
    const reader = connectRedis(cfg, { name: `devhooks-worker-stream-${shard}`, blocking: true });
    const lease = new StreamLease(redis, reader, shardKeys[shard].stream, consumer, shardKeys[shard].liveness);
    const options = {
      shard,
      readCount: cfg.readCount,
      // the in-memory bounds are the process's: shared out between its shards
      maxInProgress: Math.max(50, Math.ceil(cfg.maxInProgress / cfg.shards)),
      deadCheckMs: Math.max(250, livenessMs / 2),
      claimIdleMs: cfg.claimIdleMs,
      blockMs: 1_000,
      flushMs: 25,
    };
    fanout.add(shard, new StreamConsumer(ctx, lease, options, fanout));
  }
  // one BullMQ worker per shard's retry queue; the process's retry concurrency shared out
  const retries = new RetryWorkers(
    queues,
    (shard) =>
      createRetryWorker(ctx, bullConnection, {
        prefix: queues.of(shard).opts.prefix!,
        concurrency: Math.max(4, Math.ceil(cfg.retryConcurrency / cfg.shards)),
        lockDurationMs: cfg.deliveryTimeoutMs + 30_000,
        slowOrigins: fanout.slots,
      }),
    logger,
  );

  await liveness.start();
  await fanout.start();
  retries.start();
  const retentionMs = Math.max(cfg.logTtlMs, scheduleHorizon(cfg.schedule) + 3_600_000);
  const upkeep = setInterval(() => {
    for (let shard = 0; shard < cfg.shards; shard++) {
      maintain(ctx, { shard, consumer, retentionMs, deadConsumerMs: DEAD_CONSUMER_MS }).catch((err) =>
        logger.warn('upkeep failed', { shard, error: (err as Error).message }),
      );
    }
  }, UPKEEP_EVERY_MS);
  upkeep.unref();
  // released heads of ordered chains whose job a dead worker never added (ordering/release-sweep.ts)
  const releaseSweep = setInterval(() => {
    for (let shard = 0; shard < cfg.shards; shard++) {
      sweepReleased(ctx, shard)
        .then(() => sweepStuckHeads(ctx, shard))
        .catch((err) => logger.warn('release sweep failed', { shard, error: (err as Error).message }));
    }
  }, RELEASE_SWEEP_EVERY_MS);
  releaseSweep.unref();
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
  const stopBreakers = startBreakerPublisher(redis, keys, consumer, ctx.origins, logger);
  logger.info('worker started', {
    consumer,
    prefix: cfg.prefix,
    shards: cfg.shards,
    cluster: cfg.redisCluster,
    encryption_at_rest: box.sealing,
  });

  return {
    consumer,
    context: ctx,
    async stop(deadlineMs: number): Promise<boolean> {
      clearInterval(upkeep);
      clearInterval(releaseSweep);
      stopBreakers();
      waker.close();
      const started = Date.now();
      const [drained] = await Promise.all([fanout.stop(deadlineMs), retries.close(deadlineMs)]);
      // what the drain left behind is taken over at once
      await liveness.stop();
      ctx.attemptLog.summarize();
      await ctx.sender.destroy().catch(() => undefined);
      await queues.close();
      await Promise.all([redis.quit(), bullConnection.quit()].map((p) => p.catch(() => undefined)));
      logger.info('worker stopped', { consumer, drained, ms: Date.now() - started });
      return drained;
    },
  };
}
