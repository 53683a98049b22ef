/** What route handlers need, built once by the server. */
import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Keys } from '@devhooks/core';
import type { DeliveryLog, Logger, OrgStore, RetryJobData, TargetVerdict, WebhookStore } from '@devhooks/engine';
import type { ApiConfig } from './config';
import type { ApiMetrics } from './http/metrics';

export interface ApiDeps {
  config: ApiConfig;
  logger: Logger;
  redis: Redis;
  keys: Keys;
  orgs: OrgStore;
  webhooks: WebhookStore;
  deliveries: DeliveryLog;
  queue: Queue<RetryJobData>;
  metrics: ApiMetrics;
  /** The create/update-time address check (replaceable in tests). */
  checkTarget(url: string): Promise<TargetVerdict>;
}
