/**
 * Deliveries of entries claimed from a dead worker: which already settled before it died. A
 * delivery with a record was settled or handed to the retry queue; but the worker may have died in
 * the middle of the commit (records, then retry jobs, then parked sets: delivery/commit.ts):
 * - a pending record without its retry job gets its job now, so no delivery is left pending with
 *   nothing to run it;
 * - a pending record whose last attempt an open breaker turned away is parked again (the worker
 *   may have died before parking it), so it runs when the receiver answers, not only at its job's
 *   fallback time minutes later (delivery/parked.ts); the breaker that turned it away died with
 *   the worker.
 */
import type { EngineContext } from '../runtime/engine-context';
import { retryJobs } from '../retry/retry-queue';
import type { Delivery } from './delivery';
import { parkDeliveries, type ParkedDelivery } from './parked';

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
  const turnedAway: ParkedDelivery[] = [];
  for (const d of pending) {
    const r = d.record!;
    const queue = ctx.queues.of(r.shard);
    if (await queue.getJob(d.id)) {
      if (r.attempt_log[r.attempt_log.length - 1]?.error === 'circuit_open' && r.next_attempt_at)
        turnedAway.push({
          shard: r.shard ?? 0,
          origin: d.target.origin,
          id: d.id,
          runAt: Date.parse(r.next_attempt_at),
        });
      continue;
    }
    ctx.logger.warn('pending delivery without its retry job: job added', {
      delivery_id: d.id,
      webhook_id: d.target.id,
    });
    await queue.addBulk(retryJobs([{ record: r, target: d.target, delayMs: 0 }], ctx.schedule.length));
  }
  if (turnedAway.length) {
    await parkDeliveries(ctx, turnedAway);
    for (const origin of new Set(turnedAway.map((p) => p.origin))) ctx.origins.parkedTakenOver(origin);
  }
  return existing;
}
