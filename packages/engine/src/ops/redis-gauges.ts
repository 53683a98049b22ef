/**
 * Scrape-time gauges read from Redis for the dashboard and alerts (infra/grafana, infra/prometheus):
 * the age of each shard stream's oldest unacknowledged event, and each Redis master's memory use
 * against its maxmemory. A value Redis does not answer for is left out of that scrape (no stale one).
 */
import { CONSUMER_GROUP, type Keys, type ShardKeys } from '@devhooks/core';
import type { Cluster, Redis } from 'ioredis';
import { Gauge, type Registry } from 'prom-client';
import { isCluster } from '../redis/connection';
import { oldestPendingAgeSeconds } from '../redis/stream-age';

/** Every master: the nodes of a cluster, or the one server. */
export function redisMasters(redis: Redis): Redis[] {
  return isCluster(redis) ? (redis as unknown as Cluster).nodes('master') : [redis];
}

/** `host:port` of a connection, the `node` label. */
export function nodeName(node: Redis): string {
  const o = node.options;
  return o.path ? o.path : `${o.host ?? '127.0.0.1'}:${o.port ?? 6379}`;
}

/** used_memory and maxmemory of INFO memory. */
export function memoryOf(info: string): { used: number; max: number } | undefined {
  const used = /^used_memory:(\d+)/m.exec(info)?.[1];
  const max = /^maxmemory:(\d+)/m.exec(info)?.[1];
  return used === undefined || max === undefined ? undefined : { used: Number(used), max: Number(max) };
}

/**
 * A gauge with one value per shard stream (label `stream`), read at scrape time by `read` (the
 * shard's keys, the scrape's time); a shard whose read fails or answers undefined is left out.
 */
export function shardGauge(
  registry: Registry,
  o: { name: string; help: string; keys: Keys; shards: number },
  read: (k: ShardKeys, now: number) => Promise<number | undefined>,
): Gauge {
  return new Gauge({
    name: o.name,
    help: o.help,
    labelNames: ['stream'],
    registers: [registry],
    async collect() {
      this.reset();
      const now = Date.now();
      for (let s = 0; s < o.shards; s++) {
        const k = o.keys.shard(s);
        const v = await read(k, now).catch(() => undefined);
        if (v !== undefined) this.set({ stream: k.stream }, v);
      }
    },
  });
}

export function redisGauges(registry: Registry, redis: Redis, keys: Keys, shards: number): void {
  shardGauge(
    registry,
    {
      name: 'devhooks_oldest_pending_age_seconds',
      help: "Age of the oldest event of a shard's stream not yet acknowledged (pending in a worker, or not read yet); 0 when none",
      keys,
      shards,
    },
    (k, now) => oldestPendingAgeSeconds(redis, k.stream, CONSUMER_GROUP, now),
  );
  /** INFO memory of every master that answers (each gauge reads its own: two cheap INFOs a scrape). */
  const readMemory = async () => {
    const all = await Promise.all(
      redisMasters(redis).map(async (n) => {
        const m = memoryOf(await n.info('memory').catch(() => ''));
        return m && { node: nodeName(n), ...m };
      }),
    );
    return all.filter((m) => m !== undefined);
  };
  const memoryGauge = (name: string, help: string, pick: (m: { used: number; max: number }) => number) =>
    new Gauge({
      name,
      help,
      labelNames: ['node'],
      registers: [registry],
      async collect() {
        this.reset();
        for (const m of await readMemory().catch(() => [])) this.set({ node: m.node }, pick(m));
      },
    });
  memoryGauge('devhooks_redis_memory_used_bytes', 'used_memory of INFO memory, per Redis master', (m) => m.used);
  memoryGauge(
    'devhooks_redis_maxmemory_bytes',
    'maxmemory of INFO memory, per Redis master (0: no limit)',
    (m) => m.max,
  );
}
