/**
 * DEVHOOKS_SHARDS may grow on a running deployment, never shrink: every process records the most
 * shards it was started with, and refuses to start with fewer, since the streams of the shards
 * left out would then never be read (their events would be lost). Growing is safe: every existing
 * shard is still read, new events spread over more shards (docs/decisions/0006).
 */
import type { Keys } from '@devhooks/core';
import type { Redis } from 'ioredis';

const RECORD_MAX = `
local cur = tonumber(redis.call('GET', KEYS[1]) or '0')
local want = tonumber(ARGV[1])
if cur > want then return cur end
redis.call('SET', KEYS[1], want)
return want
`;

export class ShardCountError extends Error {}

/** Records `shards` as used; throws ShardCountError when more were used before. */
export async function recordShardCount(redis: Redis, keys: Keys, shards: number): Promise<void> {
  const used = Number(await redis.eval(RECORD_MAX, 1, keys.shardCount, shards));
  if (used > shards) {
    throw new ShardCountError(
      `DEVHOOKS_SHARDS=${shards}, but this deployment (prefix ${keys.prefix}) has used ${used} shards: the events ` +
        `of shards ${shards}–${used - 1} would never be delivered. Start every process with DEVHOOKS_SHARDS=${used} ` +
        `or more (growing is safe; shrinking is not supported).`,
    );
  }
}
