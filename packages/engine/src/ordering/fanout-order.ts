/**
 * The fan-out's hook for ordered delivery (delivery/fanout.ts): after a consumer planned a batch,
 * one script marks its entries planned and chains its ordered deliveries (ordering/chains.ts).
 * The fan-out calls it only for batches with an ordered delivery: the watermark counts an
 * acknowledged entry as planned, so the others' entries only keep ordered heads waiting until they
 * are acknowledged.
 */
import type { Delivery } from '../delivery/delivery';
import type { EngineContext } from '../runtime/engine-context';
import { chainRefOf, planOrdered, releaseChains, type ChainRef, type OrderState } from './chains';

export interface OrderBatchInput {
  /** Every entry of the batch the consumer is done planning (ready and dropped ones). */
  marks: string[];
  /** Deliveries about to be launched. */
  launch: Delivery[];
  /** Deliveries of reclaimed entries that already have a record (settled before a crash). */
  settled: Delivery[];
  /** This worker's consumer name (a head it is told to attempt is marked as its). */
  consumer: string;
}

/** What each ordered delivery about to be launched may do (deliveries not in the map: unordered). */
export async function orderBatch(
  ctx: EngineContext,
  shard: number,
  b: OrderBatchInput,
): Promise<Map<string, OrderState>> {
  const ordered = b.launch.filter((d) => d.orderKey);
  const recovered = b.settled.filter((d) => d.orderKey);
  if (recovered.length) await releaseRecovered(ctx, recovered);
  if (!ordered.length) return new Map();
  return planOrdered(ctx, shard, b.marks, ordered, { consumer: b.consumer });
}

/**
 * A dead worker's ordered deliveries that settled for good before it died may not have left their
 * chains (the release follows the record's write): released again (a release is safe to repeat).
 */
async function releaseRecovered(ctx: EngineContext, ds: Delivery[]): Promise<void> {
  const records = await ctx.deliveries.getMany(ds.map((d) => d.id));
  const done = records
    .filter((r) => r && r.status !== 'pending')
    .map((r) => chainRefOf(r!))
    .filter((c): c is ChainRef => !!c);
  if (done.length) await releaseChains(ctx, done);
}
