/**
 * The delivery log of a whole org: its webhooks' indexes (one sorted set each, by creation time)
 * merged newest first. Without a filter on record fields, each index gives only its first
 * `offset + limit` ids and the counts come from ZCOUNT, so a page costs the same whatever the log
 * holds; a filter on status, topic or status code looks at the window's records inside Redis
 * (log-filter.ts).
 */
import type { Redis } from 'ioredis';
import type { Keys } from '@devhooks/core';
import { needsRecords, type DeliveryFilter, type DeliveryLog, type DeliveryRecord } from './delivery-log';
import { filterLogPage } from './log-filter';

interface Scored {
  id: string;
  ms: number;
}

/** `[member, score, member, score, ...]` replies of many indexes, merged newest first. */
function mergeNewestFirst(replies: string[][]): Scored[] {
  const all: Scored[] = [];
  for (const flat of replies)
    for (let i = 0; i + 1 < flat.length; i += 2) all.push({ id: flat[i], ms: Number(flat[i + 1]) });
  return all.sort((a, b) => b.ms - a.ms || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0));
}

async function rangeOf(
  redis: Redis,
  keys: Keys,
  webhookIds: string[],
  filter: DeliveryFilter,
  count?: number,
): Promise<{ merged: Scored[]; counts: number[] }> {
  const max = filter.until ?? '+inf';
  const min = filter.since ?? '-inf';
  const p = redis.pipeline();
  for (const w of webhookIds) {
    const index = keys.webhookDeliveries(w);
    p.zcount(index, min, max);
    if (count === undefined) p.zrevrangebyscore(index, max, min, 'WITHSCORES');
    else p.zrevrangebyscore(index, max, min, 'WITHSCORES', 'LIMIT', 0, count);
  }
  const res = (await p.exec()) ?? [];
  const counts: number[] = [];
  const replies: string[][] = [];
  for (let i = 0; i < res.length; i += 2) {
    const [countErr, n] = res[i];
    const [rangeErr, flat] = res[i + 1];
    if (countErr) throw countErr;
    if (rangeErr) throw rangeErr;
    counts.push(Number(n));
    replies.push(flat as string[]);
  }
  return { merged: mergeNewestFirst(replies), counts };
}

/** The deliveries of the given webhooks (an org's), newest first, filtered, with the total that match. */
export async function listOrgDeliveries(
  redis: Redis,
  keys: Keys,
  log: DeliveryLog,
  webhookIds: string[],
  filter: DeliveryFilter,
  offset: number,
  limit: number,
): Promise<{ total: number; deliveries: DeliveryRecord[] }> {
  if (!webhookIds.length) return { total: 0, deliveries: [] };
  // expired and over-bound entries leave the indexes first, so counts and pages agree
  await Promise.all(webhookIds.map((w) => log.trim(w)));
  if (!needsRecords(filter)) {
    const { merged, counts } = await rangeOf(redis, keys, webhookIds, filter, offset + limit);
    const ids = merged.slice(offset, offset + limit).map((s) => s.id);
    const records = (await log.getMany(ids)).filter((r): r is DeliveryRecord => !!r);
    return { total: counts.reduce((a, b) => a + b, 0), deliveries: records };
  }
  const { merged } = await rangeOf(redis, keys, webhookIds, filter);
  const { total, ids } = await filterLogPage(
    redis,
    keys,
    merged.map((m) => m.id),
    filter,
    offset,
    limit,
  );
  const records = (await log.getMany(ids)).filter((r): r is DeliveryRecord => !!r);
  return { total, deliveries: records };
}
