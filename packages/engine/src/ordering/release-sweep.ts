/**
 * The safety net of a release (ordering/chains.ts): the release script marks the new head
 * `released` in its shard before the worker adds the head's job; the job's gate clears the mark.
 * A worker that died in between leaves the mark: every worker sweeps marks older than a few
 * seconds and adds the job (BullMQ's job id dedupes), so no held delivery is stranded.
 */
import type { EngineContext } from '../runtime/engine-context';
import { enqueueReleased } from './chains';

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
