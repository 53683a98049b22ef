/**
 * Listing a delivery log index (a webhook's or an org's) by its filters, at a bounded cost.
 *
 * - No attribute filter, or one the index has a facet for (status, topic, status code): the page is
 *   read by rank from that ZSET (time bounds are score bounds) and `total` is exact, both
 *   O(log n): only the page's records are read.
 * - A value with no facet of its own but a complement (`succeeded`: the index minus the pending
 *   and failed facets): the index is walked newest first past entries in the complement until the
 *   page is full; `total` is exact from counts (ZCOUNT), O(log n).
 * - Several: the facet with the fewest entries in the time range is walked newest first, and each
 *   entry is kept if it is in the other facets (ZMSCORE, no record read) and, for filters the
 *   index has no facet for, if its record matches. The walk stops after `limits.indexEntries`
 *   entries or `limits.records` records checked: then `truncated` is set, `total` counts the
 *   matches found (a lower bound) and `next` says where to go on.
 * `after` (a delivery id, e.g. a previous `next`) starts the listing just past that delivery.
 */
import type { Redis } from 'ioredis';
import { deliveryMs, type DeliveryFacet } from '@devhooks/core';
import type { DeliveryFilter, DeliveryRecord } from './delivery-log';

export interface LogScope {
  /** The index ZSET: every delivery, by created ms. */
  index: string;
  /** The facet ZSET for a filter, or undefined when this index has none for that value. */
  facet(facet: DeliveryFacet, value: string): string | undefined;
  /**
   * For a value with no facet of its own: the facets that together hold every other delivery of
   * the index (`succeeded`: the pending and failed facets), or undefined (checked on records).
   */
  complement?(facet: DeliveryFacet, value: string): string[] | undefined;
}

export interface LogPage {
  offset: number;
  limit: number;
  /** Start just past this delivery (newest first), e.g. a previous listing's `next`. */
  after?: string;
}

export interface LogListing {
  /** Matches (from `after` on): exact unless `truncated`, then a lower bound. */
  total: number;
  deliveries: DeliveryRecord[];
  /** The walk stopped at its cap before it saw every candidate. */
  truncated: boolean;
  /** Pass as `after` (offset 0) for the next page, when there may be one. */
  next?: string;
}

export interface ScanLimits {
  /** Most index entries one listing walks. */
  indexEntries: number;
  /** Most records one listing reads to check filters the index has no facet for. */
  records: number;
}

const CHUNK = 500;
type Fetch = (ids: string[]) => Promise<Array<DeliveryRecord | undefined>>;

const bound = (ms: number | undefined, open: string): string =>
  ms === undefined || !Number.isFinite(ms) ? open : String(ms);

/** Rank (newest first) of the first entry of `index` past `after`. */
async function rankAfter(redis: Redis, index: string, after: string): Promise<number> {
  const rank = await redis.zrevrank(index, after);
  if (rank !== null) return rank + 1;
  const ms = deliveryMs(after) ?? Number.MAX_SAFE_INTEGER;
  const [newer, ties] = await Promise.all([
    redis.zcount(index, `(${ms}`, '+inf'),
    redis.zrevrangebyscore(index, ms, ms),
  ]);
  return newer + ties.filter((id) => id > after).length;
}

export async function listIndex(
  redis: Redis,
  scope: LogScope,
  filter: DeliveryFilter,
  page: LogPage,
  o: { oldestMs: number; limits: ScanLimits; fetch: Fetch; scanned: (n: number) => void },
): Promise<LogListing> {
  const since = Math.max(filter.since ?? -Infinity, o.oldestMs);
  const min = bound(since, '-inf');
  const max = bound(filter.until, '+inf');
  const wanted: Array<[DeliveryFacet, string, (r: DeliveryRecord) => boolean]> = [];
  if (filter.status !== undefined) wanted.push(['status', filter.status, (r) => r.status === filter.status]);
  if (filter.topic !== undefined) wanted.push(['topic', filter.topic, (r) => r.topic === filter.topic]);
  if (filter.status_code !== undefined)
    wanted.push(['code', String(filter.status_code), (r) => r.status_code === filter.status_code]);
  let facets: string[] = [];
  // entries in any of these are not wanted (a value with no facet: the index minus the others)
  const excluded: string[] = [];
  const checks: Array<(r: DeliveryRecord) => boolean> = [];
  for (const [f, v, check] of wanted) {
    const key = scope.facet(f, v);
    const others = key ? undefined : scope.complement?.(f, v);
    if (key) facets.push(key);
    else if (others) excluded.push(...others);
    else checks.push(check);
  }
  let chosen = scope.index;
  if (facets.length) {
    const counts = await Promise.all(facets.map((k) => redis.zcount(k, min, max)));
    const best = counts.indexOf(Math.min(...counts));
    chosen = facets[best];
    facets = facets.filter((_, i) => i !== best);
  }
  const [above, inRange, fromAfter] = await Promise.all([
    max === '+inf' ? 0 : redis.zcount(chosen, `(${max}`, '+inf'),
    redis.zcount(chosen, min, max),
    page.after ? rankAfter(redis, chosen, page.after) : 0,
  ]);
  const start = Math.max(above, fromAfter);
  const end = above + inRange;

  if (!facets.length && !checks.length && !excluded.length) {
    const from = start + page.offset;
    const to = Math.min(end, from + page.limit) - 1;
    const ids = from <= to ? await redis.zrevrange(chosen, from, to) : [];
    o.scanned(ids.length);
    const deliveries = (await o.fetch(ids)).filter((r): r is DeliveryRecord => !!r);
    const next = to + 1 < end && ids.length ? ids[ids.length - 1] : undefined;
    return { total: Math.max(0, end - start), deliveries, truncated: false, next };
  }

  // the index minus facets and nothing else: the total is exact from counts, and the walk stops
  // once the page is full (excluded facets are subsets of the index)
  const exactTotal =
    chosen === scope.index && !facets.length && !checks.length && !page.after
      ? Math.max(
          0,
          inRange - (await Promise.all(excluded.map((k) => redis.zcount(k, min, max)))).reduce((a, b) => a + b, 0),
        )
      : undefined;
  const pageIds: string[] = [];
  const checked = new Map<string, DeliveryRecord>();
  let pos = start;
  let examined = 0;
  let recordsRead = 0;
  let matches = 0;
  let last: string | undefined;
  let truncated = false;
  while (pos < end && !(exactTotal !== undefined && pageIds.length >= page.limit)) {
    const room = Math.min(o.limits.indexEntries - examined, checks.length ? o.limits.records - recordsRead : CHUNK);
    if (room <= 0) {
      truncated = true;
      break;
    }
    const ids = await redis.zrevrange(chosen, pos, pos + Math.min(CHUNK, room, end - pos) - 1);
    if (!ids.length) break;
    pos += ids.length;
    examined += ids.length;
    o.scanned(ids.length);
    last = ids[ids.length - 1];
    let kept = ids;
    if (facets.length || excluded.length) {
      const [inAll, inNone] = await Promise.all([
        Promise.all(facets.map((k) => redis.zmscore(k, ...ids))),
        Promise.all(excluded.map((k) => redis.zmscore(k, ...ids))),
      ]);
      kept = ids.filter((_, i) => inAll.every((s) => s[i] !== null) && inNone.every((s) => s[i] === null));
    }
    if (checks.length && kept.length) {
      const recs = await o.fetch(kept);
      recordsRead += kept.length;
      kept = kept.filter((id, i) => {
        const r = recs[i];
        if (!r || !checks.every((c) => c(r))) return false;
        checked.set(id, r);
        return true;
      });
    }
    for (const id of kept) {
      if (matches >= page.offset && pageIds.length < page.limit) pageIds.push(id);
      matches++;
    }
  }
  const full = pageIds.length === page.limit;
  const total = exactTotal ?? matches;
  const more = truncated || total > page.offset + pageIds.length;
  const next = full && more ? pageIds[pageIds.length - 1] : truncated ? last : undefined;
  const records = checks.length ? pageIds.map((id) => checked.get(id)) : await o.fetch(pageIds);
  return {
    total,
    deliveries: records.filter((r): r is DeliveryRecord => !!r),
    truncated,
    next,
  };
}
