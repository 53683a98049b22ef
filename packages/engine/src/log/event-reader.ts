/** Reading events back from a shard's stream by entry id (retries, delivery detail, replay). */
import type { Redis } from 'ioredis';
import type { Keys, StoredEvent } from '@devhooks/core';
import { decodeEvent } from './stream-codec';

/** The events at `entryIds` of `shard`'s stream; undefined if any has been trimmed. */
export async function loadEvents(
  redis: Redis,
  keys: Keys,
  shard: number,
  entryIds: string[],
): Promise<StoredEvent[] | undefined> {
  const stream = keys.shard(shard).stream;
  const p = redis.pipeline();
  for (const id of entryIds) p.xrange(stream, id, id);
  const res = (await p.exec()) ?? [];
  const out: StoredEvent[] = [];
  for (const [err, rows] of res) {
    if (err) throw err;
    const entry = (rows as Array<[string, string[]]>)[0];
    if (!entry) return undefined;
    out.push(decodeEvent(entry[1]));
  }
  return out;
}
