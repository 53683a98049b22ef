/** Every org id, a page at a time (HSCAN: no long blocking call however many orgs there are). */
import type { Redis } from 'ioredis';
import type { Keys } from '@devhooks/core';

export async function* orgIds(redis: Redis, keys: Keys): AsyncGenerator<string> {
  let cursor = '0';
  do {
    const [next, fields] = await redis.hscan(keys.orgs, cursor, 'COUNT', 200);
    cursor = next;
    for (let i = 0; i < fields.length; i += 2) yield fields[i];
  } while (cursor !== '0');
}
