/** Redis connections. One place decides how the service connects, so every client behaves alike. */
import Redis, { type RedisOptions } from 'ioredis';

export type { Redis };

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
}

export function connectRedis(url: string, o: RedisConnectOptions): Redis {
  const opts: RedisOptions = {
    connectionName: o.name,
    maxRetriesPerRequest: o.blocking ? null : 3,
    enableAutoPipelining: !o.blocking && !!o.autoPipelining,
    lazyConnect: !!o.lazy,
    // reconnect with capped backoff: Redis restarts must not kill the process
    retryStrategy: (times) => Math.min(times * 200, 2_000),
  };
  return new Redis(url, opts);
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

/** Checks `maxmemory-policy`: anything but `noeviction` can silently drop queued events. */
export async function evictionPolicy(redis: Redis): Promise<string | undefined> {
  try {
    const info = await redis.info('memory');
    return /maxmemory_policy:(\S+)/.exec(info)?.[1];
  } catch {
    return undefined;
  }
}

/** Deletes every key of a prefix (tests and `devhooks reset` only). */
export async function deleteByPattern(redis: Redis, patterns: string[]): Promise<number> {
  let n = 0;
  for (const match of patterns) {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', match, 'COUNT', 1000);
      cursor = next;
      if (keys.length) n += await redis.unlink(...keys);
    } while (cursor !== '0');
  }
  return n;
}
