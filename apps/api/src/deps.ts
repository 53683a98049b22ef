/** What route handlers need, built once by the server. */
import type { Redis } from 'ioredis';
import type { Keys } from '@devhooks/core';
import type { Logger, Pings, ShardLayout, Stores, TargetVerdict } from '@devhooks/engine';
import type { ApiConfig } from './config';
import type { ApiMetrics } from './http/metrics';

export interface ApiDeps extends Stores {
  config: ApiConfig;
  logger: Logger;
  redis: Redis;
  keys: Keys;
  /** The shard counts ingest follows (DEVHOOKS_SHARDS may grow while the API runs). */
  shardLayout: ShardLayout;
  /** Sends pings and waits for their first attempt. */
  pings: Pings;
  metrics: ApiMetrics;
  /** The create/update-time address check (replaceable in tests). */
  checkTarget(url: string): Promise<TargetVerdict>;
}
