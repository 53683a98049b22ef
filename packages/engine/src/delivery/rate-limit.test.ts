/** The shared per-webhook rate limit over a real Redis: a window admits `limit`, and spreads the rest. */
import { redisKeys } from '@devhooks/core';
import { cleanPrefix, testPrefix, testRedis } from '../../../../test/support/redis';
import { MAX_RATE_WAIT_MS, rateLimitWait } from './rate-limit';

const prefix = testPrefix(__filename);
const keys = redisKeys(prefix);
const redis = testRedis();
afterAll(() => cleanPrefix(prefix).finally(() => redis.disconnect()));

/** Waits for the start of a Redis second, so a burst of calls falls in one window. */
async function freshSecond(): Promise<void> {
  const [, us] = await redis.time();
  const left = 1000 - Math.floor(Number(us) / 1000);
  if (left < 700) await new Promise((r) => setTimeout(r, left + 5));
}

it('admits the limit in a window and spreads the deliveries it turns away over the windows to come', async () => {
  await freshSecond();
  const waits = await Promise.all(Array.from({ length: 10 }, () => rateLimitWait(redis, keys, 'wh_a', 3)));
  expect(waits.filter((w) => w === undefined)).toHaveLength(3);
  const deferred = waits.filter((w): w is number => w !== undefined).sort((a, b) => a - b);
  expect(deferred).toHaveLength(7);
  // turned away 7th: two windows after the next one
  expect(deferred[6]).toBeGreaterThanOrEqual(2000);
  expect(deferred[0]).toBeLessThan(1100);
  for (const w of deferred) expect(w).toBeLessThanOrEqual(MAX_RATE_WAIT_MS);
});

it('keeps one window per webhook', async () => {
  await freshSecond();
  expect(await rateLimitWait(redis, keys, 'wh_b', 1)).toBeUndefined();
  expect(await rateLimitWait(redis, keys, 'wh_b', 1)).toBeGreaterThan(0);
  expect(await rateLimitWait(redis, keys, 'wh_c', 1)).toBeUndefined();
  expect(await redis.exists(keys.webhookRate('wh_b'))).toBe(1);
});
