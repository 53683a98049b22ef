/**
 * Filtered pages of the delivery log. Status, topic and status code live only in the records, so a
 * filtered page looks at every record of the time window; this is done inside Redis, a chunk of
 * ids per script call (each call is short, so other clients' commands run in between), and only
 * the page's ids come back: a scan of 100,000 records moves ids, not 100,000 records.
 */
import type { Redis } from 'ioredis';
import { deliveryHour, type Keys } from '@devhooks/core';
import { luaCommands } from '../redis/lua-commands';
import type { DeliveryFilter } from './delivery-log';

/** Ids per script call: a few milliseconds of Redis time. */
export const FILTER_CHUNK = 1000;

/**
 * Of `ids` (newest first), those whose records match `filter`: how many in all, and the ids of
 * matches `offset` to `offset + limit`.
 */
export async function filterLogPage(
  redis: Redis,
  keys: Keys,
  ids: string[],
  filter: DeliveryFilter,
  offset: number,
  limit: number,
): Promise<{ total: number; ids: string[] }> {
  const lua = luaCommands(redis);
  const head = [filter.status ?? '', filter.topic ?? '', filter.status_code ?? ''];
  const page: string[] = [];
  let total = 0;
  for (let i = 0; i < ids.length; i += FILTER_CHUNK) {
    const buckets: string[] = [];
    const chunk: string[] = [];
    for (const id of ids.slice(i, i + FILTER_CHUNK)) {
      const hour = deliveryHour(id);
      if (hour === undefined) continue; // not a delivery id: no record
      buckets.push(keys.deliveries(hour));
      chunk.push(id);
    }
    if (!chunk.length) continue;
    const skip = Math.max(0, offset - total);
    const take = Math.max(0, offset + limit - Math.max(total, offset));
    const [matched, found] = await lua.filterLog(buckets, [...head, skip, take, ...chunk]);
    page.push(...found);
    total += Number(matched);
  }
  return { total, ids: page };
}
