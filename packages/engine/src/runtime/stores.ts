/** The stores every process builds over one Redis connection: the API server and the worker alike. */
import type { Redis } from 'ioredis';
import { SecretBox, type Keys, type SecretBoxKeys } from '@devhooks/core';
import type { Logger } from '../ops/logger';
import { createRetryQueues, type RetryQueues } from '../retry/retry-queue';
import { DeliveryLog } from '../stores/delivery-log';
import { OrgStore } from '../stores/org-store';
import { WebhookStore } from '../stores/webhook-store';

export interface StoreSettings {
  shards: number;
  /** DEVHOOKS_ENCRYPTION_KEY (and _OLD): webhook secrets and header values encrypted at rest. */
  encryption?: SecretBoxKeys;
  logTtlMs: number;
  logMaxPerWebhook: number;
}

export interface Stores {
  /** Seals and opens secrets at rest (a no-op without a key). */
  secrets: SecretBox;
  orgs: OrgStore;
  webhooks: WebhookStore;
  deliveries: DeliveryLog;
  /** The retry queues, one per shard. */
  queues: RetryQueues;
}

export function createStores(redis: Redis, keys: Keys, s: StoreSettings, logger: Logger): Stores {
  const secrets = new SecretBox(s.encryption);
  return {
    secrets,
    orgs: new OrgStore(redis, keys),
    webhooks: new WebhookStore(redis, keys, secrets),
    deliveries: new DeliveryLog(redis, keys, { ttlMs: s.logTtlMs, maxPerWebhook: s.logMaxPerWebhook }),
    queues: createRetryQueues(redis, keys, s, (err) => logger.warn('retry queue error', { error: err.message })),
  };
}
