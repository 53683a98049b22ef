/**
 * The safety nets of ordered delivery (ordering/chains.ts), run by every worker every few seconds:
 * - a release marks the new head `released` before the worker adds its job, and the job's gate
 *   clears the mark: a mark left by a worker that died in between gets its job here (BullMQ's job
 *   id dedupes);
 * - a head that settled for good but is still chained (its worker died between the record and the
 *   release; a dead worker's retry job only comes back once its lock expires) is released here;
 * - a chained delivery whose record has been gone from the delivery log for a while (its hour
 *   expired, DEVHOOKS_LOG_TTL) has nothing left to send: released, so its chain moves on.
 */
import type { EngineContext } from '../runtime/engine-context';
import { chainRefOf, enqueueReleased, releaseChains, releaseOrphans, type ChainRef } from './chains';

/** A mark this old without its job running is looked at. */
export const RELEASE_SWEEP_AFTER_MS = 3_000;
/** A chained delivery this old (by its entry) is looked at by the stuck-head sweep. */
export const STUCK_HEAD_AFTER_MS = 5_000;
/**
 * A chained delivery whose record has been missing this long is gone from the log (a first
 * attempt in flight writes its record within the delivery timeout, a held one's within a commit).
 */
export const ORPHAN_AFTER_MS = 120_000;
const HEADS_PER_SWEEP = 200;
const LIVE_STATES = new Set(['delayed', 'waiting', 'active', 'prioritized', 'waiting-children']);

export interface SweepOptions {
  now?: number;
  orphanAfterMs?: number;
}

/** Delivery id → when this process first saw it chained without a record. */
const missingSince = new Map<string, number>();

/** The ids missing for `orphanAfterMs` (forgetting those that have a record again). */
function orphansOf(ids: string[], missing: boolean[], now: number, orphanAfterMs: number): string[] {
  const out: string[] = [];
  ids.forEach((id, i) => {
    if (!missing[i]) return void missingSince.delete(id);
    const since = missingSince.get(id) ?? now;
    missingSince.set(id, since);
    if (now - since >= orphanAfterMs) out.push(id);
  });
  for (const id of out) missingSince.delete(id);
  return out;
}

export async function sweepReleased(ctx: EngineContext, shard: number, o: SweepOptions = {}): Promise<number> {
  const now = o.now ?? Date.now();
  const key = ctx.keys.shard(shard).orderReleased;
  const ids = await ctx.redis.zrangebyscore(key, '-inf', now - RELEASE_SWEEP_AFTER_MS, 'LIMIT', 0, 200);
  const due: string[] = [];
  const missing: string[] = [];
  for (const id of ids) {
    const job = await ctx.queues.of(shard).getJob(id);
    if (job && LIVE_STATES.has(await job.getState())) continue;
    const [r] = await ctx.deliveries.getMany([id]);
    if (!r) missing.push(id);
    else if (r.status !== 'pending') await ctx.redis.zrem(key, id);
    else due.push(id);
  }
  const orphans = orphansOf(
    missing,
    missing.map(() => true),
    now,
    o.orphanAfterMs ?? ORPHAN_AFTER_MS,
  );
  if (orphans.length) {
    await releaseOrphans(ctx, shard, orphans, now);
    await ctx.redis.zrem(key, ...orphans);
  }
  if (due.length) {
    ctx.logger.info('released deliveries without their job: jobs added', { shard, deliveries: due.length });
    await enqueueReleased(ctx, due);
  }
  return due.length;
}

/** Where each shard's stuck-head sweep goes on from (it looks at HEADS_PER_SWEEP a time). */
const headCursor = new Map<string, number>();

/**
 * Chained deliveries older than a few seconds that are not held (heads, or heads waiting for the
 * watermark): released when their record is final, or missing for `orphanAfterMs`. Returns how
 * many were released.
 */
export async function sweepStuckHeads(ctx: EngineContext, shard: number, o: SweepOptions = {}): Promise<number> {
  const now = o.now ?? Date.now();
  const k = ctx.keys.shard(shard);
  const offset = headCursor.get(k.orderChained) ?? 0;
  const ids = await ctx.redis.zrangebyscore(
    k.orderChained,
    '-inf',
    now - STUCK_HEAD_AFTER_MS,
    'LIMIT',
    offset,
    HEADS_PER_SWEEP,
  );
  headCursor.set(k.orderChained, ids.length < HEADS_PER_SWEEP ? 0 : offset + ids.length);
  if (!ids.length) return 0;
  const held = await ctx.redis.zmscore(k.orderHeld, ...ids);
  const heads = ids.filter((_, i) => held[i] === null);
  if (!heads.length) return 0;
  const records = await ctx.deliveries.getMany(heads);
  const done = records
    .filter((r) => r && r.status !== 'pending')
    .map((r) => chainRefOf(r!))
    .filter((c): c is ChainRef => !!c);
  if (done.length) {
    ctx.logger.info('settled heads still chained: released', { shard, deliveries: done.length });
    await releaseChains(ctx, done, now);
  }
  const orphans = orphansOf(
    heads,
    records.map((r) => !r),
    now,
    o.orphanAfterMs ?? ORPHAN_AFTER_MS,
  );
  const released = await releaseOrphans(ctx, shard, orphans, now);
  return done.length + released;
}
