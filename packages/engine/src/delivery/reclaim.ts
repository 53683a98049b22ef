/**
 * Deliveries of entries claimed from a dead worker: which already settled before it died. A
 * delivery with a record was settled or handed to the retry queue; but the worker may have died
 * between writing a pending record and adding its retry job (one commit, two steps): such a record
 * gets its job now, so no delivery is left pending with nothing to run it.
 */
import type { EngineContext } from '../runtime/engine-context';
import { retryJobs } from '../retry/retry-queue';
import type { Delivery } from './delivery';

export async function settledBefore(ctx: EngineContext, singles: Delivery[]): Promise<boolean[]> {
  const existing = await ctx.deliveries.exist(singles.map((d) => d.id));
  const pending: Delivery[] = [];
  const records = await ctx.deliveries.getMany(singles.filter((_, i) => existing[i]).map((d) => d.id));
  let k = 0;
  singles.forEach((d, i) => {
    if (!existing[i]) return;
    const r = records[k++];
    // a held ordered delivery has no job on purpose: its chain's release adds it (ordering/)
    if (r?.status === 'pending' && !r.held_by) pending.push({ ...d, record: r });
  });
  for (const d of pending) {
    const queue = ctx.queues.of(d.record!.shard);
    if (await queue.getJob(d.id)) continue;
    ctx.logger.warn('pending delivery without its retry job: job added', {
      delivery_id: d.id,
      webhook_id: d.target.id,
    });
    await queue.addBulk(retryJobs([{ record: d.record!, target: d.target, delayMs: 0 }], ctx.schedule.length));
  }
  return existing;
}
