/**
 * Scrape-time gauges of ordered delivery (docs/contract.md §8): how many deliveries are held behind
 * another of their chain, and how long the oldest has been held, per event-stream shard (read from
 * each shard's held set, so every process reports the same numbers).
 */
import type { Keys } from '@devhooks/core';
import type { Redis } from 'ioredis';
import type { Registry } from 'prom-client';
import { shardGauge } from './redis-gauges';

export function heldGauges(registry: Registry, redis: Redis, keys: Keys, shards: number): void {
  shardGauge(
    registry,
    {
      name: 'devhooks_held_deliveries',
      help: 'Deliveries of ordered webhooks held behind an earlier delivery of the same device, per stream',
      keys,
      shards,
    },
    (k) => redis.zcard(k.orderHeld),
  );
  shardGauge(
    registry,
    {
      name: 'devhooks_oldest_hold_age_seconds',
      help: 'How long the longest-held delivery of an ordered webhook has been held, per stream; 0 when none',
      keys,
      shards,
    },
    async (k, now) => {
      const first = await redis.zrange(k.orderHeld, 0, 0, 'WITHSCORES');
      return first.length ? Math.max(0, (now - Number(first[1])) / 1000) : 0;
    },
  );
}
