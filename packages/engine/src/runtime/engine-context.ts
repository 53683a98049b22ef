/** What the delivery engine needs, built once per worker process (see worker-runtime.ts). */
import type { Redis } from 'ioredis';
import type { Keys } from '@devhooks/core';
import type { AttemptLog } from '../delivery/attempt-log';
import type { OriginLimiter } from '../delivery/origin-limiter';
import type { Sender } from '../delivery/sender';
import type { WorkerLiveness } from '../log/liveness';
import type { WorkerMetrics } from '../ops/metrics';
import type { Logger } from '../ops/logger';
import type { RetryQueues } from '../retry/retry-queue';
import type { DeliveryLog } from '../stores/delivery-log';
import type { WebhookDirectory } from '../stores/webhook-directory';
import type { WebhookStore } from '../stores/webhook-store';

export interface EngineContext {
  redis: Redis;
  keys: Keys;
  /** Event-stream shards: 0 … shards − 1. */
  shards: number;
  logger: Logger;
  attemptLog: AttemptLog;
  directory: WebhookDirectory;
  webhooks: WebhookStore;
  deliveries: DeliveryLog;
  sender: Sender;
  /** Per-origin concurrency limits and circuit breakers. */
  origins: OriginLimiter;
  /** The retry queues, one per shard. */
  queues: RetryQueues;
  metrics: WorkerMetrics;
  /** Delay before each attempt (ms); its length is the number of attempts. */
  schedule: number[];
  batchWindowMs: number;
  /** A webhook whose deliveries have all failed this long is disabled (docs/contract.md §6: 5 days). */
  disableAfterFailingMs: number;
  /** Longest chain of one webhook's deliveries of one device (DEVHOOKS_ORDER_HOLD_MAX); default 10,000. */
  orderHoldMax?: number;
  /**
   * This worker's name in the consumer group and liveness sets (worker processes only): the one
   * attempting an ordered delivery it was told to (ordering/chains.ts).
   */
  consumer?: string;
  /** How long a worker told to attempt an ordered head counts as attempting it, at most (ordering/chains.ts). */
  orderLeaseMs?: number;
  /** This worker's liveness, as it knows it (log/liveness.ts); worker processes only. */
  liveness?: Pick<WorkerLiveness, 'surelyHeld'>;
}
