/** Reading events back from the shards' streams by entry id (retries, delivery detail, replay). */
import type { Redis } from 'ioredis';
import type { Keys, StoredEvent } from '@devhooks/core';
import type { DeliveryRecord } from '../stores/delivery-log';
import { decodeEvent } from './stream-codec';

/** The shard of each entry of a delivery record. */
export function entryShardsOf(r: Pick<DeliveryRecord, 'shard' | 'entry_shards' | 'entry_ids'>): number[] {
  return r.entry_shards ?? r.entry_ids.map(() => r.shard ?? 0);
}

/**
 * The events at `entryIds` (entry i on shard `shards[i]`, or all on one shard); undefined if any
 * has been trimmed. One pipeline per shard: on a cluster, each goes to its shard's node.
 */
export async function loadEvents(
  redis: Redis,
  keys: Keys,
  shards: number | number[],
  entryIds: string[],
): Promise<StoredEvent[] | undefined> {
  const shardOf = (i: number) => (typeof shards === 'number' ? shards : shards[i]);
  const byShard = new Map<number, number[]>();
  entryIds.forEach((_, i) => {
    const list = byShard.get(shardOf(i));
    if (list) list.push(i);
    else byShard.set(shardOf(i), [i]);
  });
  const out = new Array<StoredEvent>(entryIds.length);
  let missing = false;
  await Promise.all(
    [...byShard].map(async ([shard, idx]) => {
      const stream = keys.shard(shard).stream;
      const p = redis.pipeline();
      for (const i of idx) p.xrange(stream, entryIds[i], entryIds[i]);
      const res = (await p.exec()) ?? [];
      res.forEach(([err, rows], k) => {
        if (err) throw err;
        const entry = (rows as Array<[string, string[]]>)[0];
        if (!entry) missing = true;
        else out[idx[k]] = decodeEvent(entry[1]);
      });
    }),
  );
  return missing ? undefined : out;
}
