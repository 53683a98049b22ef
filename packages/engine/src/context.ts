/** What the delivery engine needs, built once per worker process. */
import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Keys } from '@devhooks/core';
import type { DeliveryStore } from './deliveries';
import type { Endpoints } from './endpoints';
import type { Logger } from './logger';
import type { WorkerMetrics } from './metrics';
import type { RetryJobData } from './retry-queue';
import type { Sender } from './sender';
import type { WebhookDirectory } from './webhook-directory';
import type { WebhookStore } from './webhooks';

export interface EngineContext {
  redis: Redis;
  keys: Keys;
  logger: Logger;
  directory: WebhookDirectory;
  webhooks: WebhookStore;
  deliveries: DeliveryStore;
  sender: Sender;
  endpoints: Endpoints;
  queue: Queue<RetryJobData>;
  metrics: WorkerMetrics;
  /** Delay before each attempt (ms); its length is the number of attempts. */
  schedule: number[];
  logTtlMs: number;
  batchWindowMs: number;
  deliveryTimeoutMs: number;
  /** A webhook whose deliveries have all failed this long is disabled (contract: 5 days). */
  disableAfterFailingMs: number;
}
