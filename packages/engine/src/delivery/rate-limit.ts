/**
 * A webhook's `rate_limit` (requests per second, contract §9), shared by every worker through one
 * Redis window per webhook. Checked when an attempt is admitted; a delivery over the limit waits
 * (deferred like an overloaded endpoint: no attempt used, not failed).
 */
import type { Redis } from 'ioredis';
import type { Keys } from '@devhooks/core';
import { luaCommands } from '../redis/lua-commands';

/** Longest a delivery is put off at once (it asks again then). */
export const MAX_RATE_WAIT_MS = 30 * 60_000;

/**
 * Undefined when the attempt may go now; else how long to wait. Deliveries turned away in the same
 * second are spread over the seconds to come in the order they were turned away (the n-th waits
 * for window 1 + ⌊(n-1)/limit⌋, at its own place in it), so a backlog drains at the limit instead
 * of every waiting delivery asking again at the same instant.
 */
export async function rateLimitWait(
  redis: Redis,
  keys: Keys,
  webhookId: string,
  limit: number,
): Promise<number | undefined> {
  const [admitted, waitMs, deferred] = await luaCommands(redis).rateLimit(keys.webhookRate(webhookId), limit);
  if (Number(admitted) === 1) return undefined;
  const n = Number(deferred) - 1;
  const windows = Math.floor(n / limit);
  const place = ((n % limit) * 1000) / limit;
  const wait = Number(waitMs) + windows * 1000 + Math.floor(place) + Math.floor(Math.random() * 20);
  // a backlog longer than the cap asks again spread over its second half, not all at one instant
  return wait <= MAX_RATE_WAIT_MS ? wait : MAX_RATE_WAIT_MS - Math.floor((Math.random() * MAX_RATE_WAIT_MS) / 2);
}
