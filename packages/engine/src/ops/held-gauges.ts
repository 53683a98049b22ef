/**
 * Scrape-time gauges of ordered delivery (docs/contract.md §8): how many deliveries are held behind
 * another of their chain, and how long the oldest has been held, per event-stream shard (read from
 * each shard's held set, so every process reports the same numbers).
 */
import type { Keys } from '@devhooks/core';
import type { Redis } from 'ioredis';
import { Gauge, type Registry } from 'prom-client';

export function heldGauges(registry: Registry, redis: Redis, keys: Keys, shards: number): void {
  new Gauge({
    name: 'devhooks_held_deliveries',
    help: 'Deliveries of ordered webhooks held behind an earlier delivery of the same device, per stream',
    labelNames: ['stream'],
    registers: [registry],
    async collect() {
      this.reset();
      for (let s = 0; s < shards; s++) {
        const k = keys.shard(s);
        const n = await redis.zcard(k.orderHeld).catch(() => undefined);
        if (n !== undefined) this.set({ stream: k.stream }, n);
      }
    },
  });
  new Gauge({
    name: 'devhooks_oldest_hold_age_seconds',
    help: 'How long the longest-held delivery of an ordered webhook has been held, per stream; 0 when none',
    labelNames: ['stream'],
    registers: [registry],
    async collect() {
      this.reset();
      const now = Date.now();
      for (let s = 0; s < shards; s++) {
        const k = keys.shard(s);
        const first = await redis.zrange(k.orderHeld, 0, 0, 'WITHSCORES').catch(() => undefined);
        if (first) this.set({ stream: k.stream }, first.length ? Math.max(0, (now - Number(first[1])) / 1000) : 0);
      }
    },
  });
}
