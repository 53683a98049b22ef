/**
 * Readiness: whether every hash slot the service needs is served. Standalone, that is one PING; on
 * a cluster, one cheap keyed read per shard and one for the control plane, each answered by the
 * master that owns its slot, so a probe fails only while some needed slot has no master.
 */
import type { Keys } from '@devhooks/core';
import { isCluster, type Redis } from '../redis/connection';

export async function checkReady(redis: Redis, keys: Keys, shards: number, timeoutMs = 1_000): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const probes = isCluster(redis)
    ? [keys.orgs, ...Array.from({ length: shards }, (_, s) => keys.shard(s).backlog)].map((k) => redis.exists(k))
    : [redis.ping()];
  try {
    await Promise.race([
      Promise.all(probes),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`Redis did not answer within ${timeoutMs} ms`)), timeoutMs);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
