/**
 * Redis connections. One place decides how the service connects, so every client behaves alike:
 * standalone (one URL) or Redis Cluster (DEVHOOKS_REDIS_CLUSTER=true, the URLs are seed nodes).
 *
 * A cluster client is typed as `Redis`: ioredis's Cluster takes the same commands, and every
 * command, pipeline, transaction and script here touches one hash slot (keys.ts builds every name
 * with a hash tag), which is what a cluster asks of them.
 */
import Redis, { Cluster, type ClusterOptions, type RedisOptions } from 'ioredis';

export type { Redis };

/** Where Redis is: the settings' `redisUrl` and `redisCluster`. */
export interface RedisTarget {
  redisUrl: string;
  redisCluster: boolean;
}

export interface RedisConnectOptions {
  /** Shown in CLIENT LIST, e.g. `devhooks-api`. */
  name: string;
  /** Blocking readers and BullMQ workers need `maxRetriesPerRequest: null`. */
  blocking?: boolean;
  /** Fail the first commands instead of queueing them while offline (readiness probes). */
  lazy?: boolean;
  /**
   * ioredis auto-pipelining: batches commands issued in the same tick, but builds a Pipeline
   * object per tick. Measured: it halves the API's scavenges when off (its hot path sends two
   * commands a request), while the worker, which issues bursts of single commands, runs a few
   * per cent faster with it on.
   */
  autoPipelining?: boolean;
  /**
   * Fail a command (and a connection's ready check) that has no answer after this long. ioredis
   * bounds only the TCP connect: a Redis (or a proxy in front of it) that accepts the connection
   * and never answers would otherwise hold every command, and every request waiting on one,
   * forever. Not for blocking readers.
   */
  commandTimeoutMs?: number;
}

/** The URLs of a `redisUrl` setting (one, or a comma-separated list). */
export function redisUrls(redisUrl: string): string[] {
  return redisUrl
    .split(',')
    .map((u) => u.trim())
    .filter(Boolean);
}

// reconnect with capped backoff: Redis restarts and failovers must not kill the process
const retryStrategy = (times: number) => Math.min(times * 200, 2_000);

export function connectRedis(target: RedisTarget, o: RedisConnectOptions): Redis {
  const opts: RedisOptions = {
    connectionName: o.name,
    maxRetriesPerRequest: o.blocking ? null : 3,
    enableAutoPipelining: !o.blocking && !!o.autoPipelining,
    lazyConnect: !!o.lazy,
    retryStrategy,
    commandTimeout: o.blocking ? undefined : o.commandTimeoutMs,
  };
  const urls = redisUrls(target.redisUrl);
  if (!target.redisCluster) return new Redis(urls[0], opts);
  const seeds = urls.map((u) => {
    const url = new URL(u);
    return { host: url.hostname, port: Number(url.port || 6379) };
  });
  const first = new URL(urls[0]);
  const clusterOpts: ClusterOptions = {
    redisOptions: {
      connectionName: o.name,
      maxRetriesPerRequest: opts.maxRetriesPerRequest,
      commandTimeout: opts.commandTimeout,
      username: first.username ? decodeURIComponent(first.username) : undefined,
      password: first.password ? decodeURIComponent(first.password) : undefined,
      tls: first.protocol === 'rediss:' ? {} : undefined,
    },
    enableAutoPipelining: opts.enableAutoPipelining,
    lazyConnect: opts.lazyConnect,
    maxRedirections: 32,
    // during a failover: keep retrying while the replica takes over (cluster-node-timeout + election)
    clusterRetryStrategy: retryStrategy,
    retryDelayOnFailover: 200,
    retryDelayOnClusterDown: 300,
    retryDelayOnTryAgain: 200,
    slotsRefreshTimeout: 2_000,
    enableOfflineQueue: true,
  };
  return new Cluster(seeds, clusterOpts) as unknown as Redis;
}

/** Whether a client is a cluster client. */
export function isCluster(redis: Redis): boolean {
  return (redis as unknown as { isCluster?: boolean }).isCluster === true;
}

/** Waits until Redis answers PING, or throws after `timeoutMs`. */
export async function waitForRedis(redis: Redis, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await redis.ping();
      return;
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

/** Checks `maxmemory-policy` (of every master on a cluster): anything but `noeviction` can drop queued events. */
export async function evictionPolicy(redis: Redis): Promise<string | undefined> {
  try {
    const nodes = isCluster(redis) ? (redis as unknown as Cluster).nodes('master') : [redis];
    const policies = await Promise.all(
      nodes.map(async (n) => /maxmemory_policy:(\S+)/.exec(await n.info('memory'))?.[1]),
    );
    return policies.find((p) => p && p !== 'noeviction') ?? policies[0];
  } catch {
    return undefined;
  }
}

/** The warning every process gives when Redis may evict (one wording, see ops and bootstrap). */
export function evictionWarning(policy: string): string {
  return (
    `Redis maxmemory-policy is "${policy}", not "noeviction": under memory pressure Redis may evict ` +
    'queued events and retries. Set maxmemory-policy noeviction.'
  );
}

/** Deletes every key matching the patterns (tests and benchmarks only), on every master of a cluster. */
export async function deleteByPattern(redis: Redis, patterns: string[]): Promise<number> {
  const nodes = isCluster(redis) ? (redis as unknown as Cluster).nodes('master') : [redis];
  let n = 0;
  for (const node of nodes) {
    for (const match of patterns) {
      let cursor = '0';
      do {
        const [next, keys] = await node.scan(cursor, 'MATCH', match, 'COUNT', 1000);
        cursor = next;
        if (!keys.length) continue;
        // one key at a time on a cluster: keys of one SCAN page may live in different slots
        if (nodes.length > 1 || isCluster(redis)) for (const k of keys) n += await node.unlink(k);
        else n += await node.unlink(...keys);
      } while (cursor !== '0');
    }
  }
  return n;
}

/**
 * WAIT on the node that holds `key` (on a cluster, a pipeline goes to the node of its keyed
 * commands): how many replicas have every write made so far on that connection.
 */
export async function waitForReplicas(redis: Redis, key: string, replicas: number, timeoutMs: number): Promise<number> {
  const res = await redis.pipeline().exists(key).wait(replicas, timeoutMs).exec();
  const [err, n] = res?.[1] ?? [new Error('WAIT gave no answer'), 0];
  if (err) throw err;
  return Number(n);
}
