/**
 * Where end-to-end suites run: the standalone test Redis, or a local Redis Cluster the suite starts
 * itself (test/support/redis-cluster.ts). A suite takes a backend, so the same flows run on both.
 */
import type { Redis } from 'ioredis';
import { keyPattern, redisKeys } from '@devhooks/core';
import { connectRedis, deleteByPattern } from '@devhooks/engine';
import { startRedisCluster, type RedisCluster } from './redis-cluster';
import { testRedis, testRedisUrl } from './redis';

export interface Backend {
  readonly name: 'standalone' | 'cluster';
  /** Event-stream shards the processes use. */
  readonly shards: number;
  /** The processes' Redis variables. */
  env(): Record<string, string>;
  /** A client of this backend (cluster-aware on a cluster). */
  redis(): Redis;
  start(): Promise<void>;
  stop(prefix: string): Promise<void>;
  /** The cluster, on a cluster backend. */
  cluster?: RedisCluster;
}

export function standaloneBackend(): Backend {
  let redis: Redis | undefined;
  return {
    name: 'standalone',
    shards: 1,
    env: () => ({ DEVHOOKS_REDIS_URL: testRedisUrl() }),
    redis: () => (redis ??= testRedis()),
    async start() {},
    async stop(prefix) {
      const r = (redis ??= testRedis());
      await deleteByPattern(r, keyPattern(prefix));
      r.disconnect();
    },
  };
}

export function clusterBackend(o: { shards?: number; appendonly?: boolean; nodeTimeoutMs?: number } = {}): Backend {
  let redis: Redis | undefined;
  const b: Backend = {
    name: 'cluster',
    shards: o.shards ?? 16,
    env: () => ({
      DEVHOOKS_REDIS_URL: b.cluster!.url,
      DEVHOOKS_REDIS_CLUSTER: 'true',
      DEVHOOKS_SHARDS: String(b.shards),
    }),
    redis: () => (redis ??= connectRedis({ redisUrl: b.cluster!.url, redisCluster: true }, { name: 'devhooks-test' })),
    async start() {
      b.cluster = await startRedisCluster({
        appendonly: o.appendonly,
        ...(o.nodeTimeoutMs ? { nodeTimeoutMs: o.nodeTimeoutMs } : {}),
      });
    },
    async stop() {
      redis?.disconnect();
      await b.cluster?.stop();
    },
  };
  return b;
}

/** The streams (and backlog counters) of every shard of a prefix. */
export function shardKeys(prefix: string, shards: number) {
  const keys = redisKeys(prefix);
  return Array.from({ length: shards }, (_, s) => keys.shard(s));
}
