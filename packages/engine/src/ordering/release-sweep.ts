/**
 * The safety net of a release (ordering/chains.ts): the release script marks the new head
 * `released` in its shard before the worker adds the head's job; the job's gate clears the mark.
 * A worker that died in between leaves the mark: every worker sweeps marks older than a few
 * seconds and adds the job (BullMQ's job id dedupes), so no held delivery is stranded.
 */
import type { EngineContext } from '../runtime/engine-context';
import { chainRefOf, enqueueReleased, releaseChains, type ChainRef } from './chains';

/** A chained delivery this old (by its entry) is looked at by the stuck-head sweep. */
export const STUCK_HEAD_AFTER_MS = 5_000;
const HEADS_PER_SWEEP = 200;

/** A mark this old without its job running is looked at. */
export const RELEASE_SWEEP_AFTER_MS = 3_000;
/** A mark whose delivery has no record this long after is dropped (the record expired). */
const FORGET_AFTER_MS = 3_600_000;
const LIVE_STATES = new Set(['delayed', 'waiting', 'active', 'prioritized', 'waiting-children']);

export async function sweepReleased(ctx: EngineContext, shard: number, now = Date.now()): Promise<number> {
  const key = ctx.keys.shard(shard).orderReleased;
  const marks = await ctx.redis.zrangebyscore(key, '-inf', now - RELEASE_SWEEP_AFTER_MS, 'WITHSCORES', 'LIMIT', 0, 200);
  const due: string[] = [];
  for (let i = 0; i < marks.length; i += 2) {
    const id = marks[i];
    const at = Number(marks[i + 1]);
    const job = await ctx.queues.of(shard).getJob(id);
    if (job && LIVE_STATES.has(await job.getState())) continue;
    const [r] = await ctx.deliveries.getMany([id]);
    if (!r ? now - at > FORGET_AFTER_MS : r.status !== 'pending') {
      await ctx.redis.zrem(key, id);
      continue;
    }
    if (r) due.push(id);
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
 * Heads whose delivery settled for good but which are still chained: their worker died between
 * the record and the release (the retry job of a dead worker comes back only after its lock
 * expires). Looks at chained deliveries older than a few seconds that are not held (heads, or
 * heads waiting for the watermark) and releases those whose record is final. Returns how many.
 */
export async function sweepStuckHeads(ctx: EngineContext, shard: number, now = Date.now()): Promise<number> {
  const k = ctx.keys.shard(shard);
  const cursorKey = `${k.orderChained}`;
  const offset = headCursor.get(cursorKey) ?? 0;
  const ids = await ctx.redis.zrangebyscore(
    k.orderChained,
    '-inf',
    now - STUCK_HEAD_AFTER_MS,
    'LIMIT',
    offset,
    HEADS_PER_SWEEP,
  );
  headCursor.set(cursorKey, ids.length < HEADS_PER_SWEEP ? 0 : offset + ids.length);
  if (!ids.length) return 0;
  const held = await ctx.redis.zmscore(k.orderHeld, ...ids);
  const heads = ids.filter((_, i) => held[i] === null);
  if (!heads.length) return 0;
  const done = (await ctx.deliveries.getMany(heads))
    .filter((r) => r && r.status !== 'pending')
    .map((r) => chainRefOf(r!))
    .filter((c): c is ChainRef => !!c);
  if (done.length) {
    ctx.logger.info('settled heads still chained: released', { shard, deliveries: done.length });
    await releaseChains(ctx, done, now);
  }
  return done.length;
}
