/**
 * Circuit breakers live in each worker's memory (delivery/origin-limiter.ts). Each worker publishes
 * the origins whose breaker is not at rest to one Redis hash every few seconds, so the API's
 * failing-receivers page can say which receivers are cut off, on how many workers.
 */
import type { Redis } from 'ioredis';
import type { Keys } from '@devhooks/core';
import type { BreakerState, OriginLimiter } from '../delivery/origin-limiter';
import type { Logger } from './logger';

export const BREAKER_PUBLISH_EVERY_MS = 5_000;
/** A worker's entry older than this is ignored (the worker is gone or stuck). */
const STALE_AFTER_MS = 3 * BREAKER_PUBLISH_EVERY_MS;

interface Published {
  at: number;
  origins: BreakerState[];
}

/** One origin's breaker over all workers that report it. */
export interface OriginBreaker {
  origin: string;
  /** The worst state any worker reports. */
  state: BreakerState['state'];
  /** Workers whose breaker for the origin is open. */
  open_on: number;
  /** Workers publishing right now. */
  workers: number;
  consecutive_failures: number;
  open_until: string | null;
}

export async function publishBreakerStates(
  redis: Redis,
  keys: Keys,
  worker: string,
  origins: OriginLimiter,
  now = Date.now(),
): Promise<void> {
  const value: Published = { at: now, origins: origins.breakerStates() };
  await redis
    .multi()
    .hset(keys.breakerStates, worker, JSON.stringify(value))
    .pexpire(keys.breakerStates, STALE_AFTER_MS * 2)
    .exec();
}

/** Publishes every few seconds until the returned function is called (which withdraws the entry). */
export function startBreakerPublisher(
  redis: Redis,
  keys: Keys,
  worker: string,
  origins: OriginLimiter,
  logger: Logger,
): () => void {
  const publish = () =>
    publishBreakerStates(redis, keys, worker, origins).catch((err) =>
      logger.debug('breaker states not published', { error: (err as Error).message }),
    );
  void publish();
  const timer = setInterval(publish, BREAKER_PUBLISH_EVERY_MS);
  timer.unref();
  return () => {
    clearInterval(timer);
    // not awaited: a drain never waits on a Redis that is gone (the entry goes stale by itself)
    redis.hdel(keys.breakerStates, worker).catch(() => undefined);
  };
}

const RANK = { open: 0, half_open: 1, closed: 2 } as const;

/** Every origin some live worker reports, merged over workers. */
export async function readBreakerStates(
  redis: Redis,
  keys: Keys,
  now = Date.now(),
): Promise<Map<string, OriginBreaker>> {
  const all = await redis.hgetall(keys.breakerStates);
  const live: Published[] = [];
  for (const raw of Object.values(all)) {
    try {
      const p = JSON.parse(raw) as Published;
      if (now - p.at <= STALE_AFTER_MS) live.push(p);
    } catch {
      // a malformed entry is skipped; its worker overwrites it within seconds
    }
  }
  const out = new Map<string, OriginBreaker>();
  for (const p of live) {
    for (const s of p.origins) {
      let b = out.get(s.origin);
      if (!b) {
        b = {
          origin: s.origin,
          state: s.state,
          open_on: 0,
          workers: live.length,
          consecutive_failures: 0,
          open_until: null,
        };
        out.set(s.origin, b);
      }
      if (RANK[s.state] < RANK[b.state]) b.state = s.state;
      if (s.state === 'open') b.open_on++;
      b.consecutive_failures = Math.max(b.consecutive_failures, s.consecutive_failures);
      if (s.open_until && (!b.open_until || s.open_until > Date.parse(b.open_until)))
        b.open_until = new Date(s.open_until).toISOString();
    }
  }
  return out;
}
