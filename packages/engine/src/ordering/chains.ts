/**
 * Ordered delivery (docs/contract.md §8, docs/decisions/0007-ordered-delivery.md): a webhook with
 * `ordering: device` gets a device's events one at a time, in acceptance order. Each (webhook,
 * device) has a chain in the event's shard slot; only its head is attempted, and only once the
 * shard's planned watermark has reached it (every earlier entry of the stream has been fanned out
 * by some worker, so no earlier delivery of the device can still join the chain ahead of it).
 */
import { CONSUMER_GROUP, type StoredEvent } from '@devhooks/core';
import { newRecord, type Delivery } from '../delivery/delivery';
import { retryJobs } from '../retry/retry-queue';
import { orderingLua, type PlannedDelivery } from '../redis/ordering-lua';
import type { EngineContext } from '../runtime/engine-context';
import type { DeliveryRecord } from '../stores/delivery-log';
import type { Target } from '../stores/webhook-directory';

export const DEFAULT_ORDER_HOLD_MAX = 10_000;

/**
 * How long a worker told to attempt an ordered head counts as attempting it, at most (ms), unless
 * it says earlier that it is done: bounds what a worker that stops answering can hold up. Worker
 * processes set it from their delivery timeout and slot wait (EngineContext.orderLeaseMs).
 */
export const DEFAULT_ORDER_LEASE_MS = 60_000;

/** A head the watermark has not reached yet is looked at again this much later (no attempt used). */
export const ORDER_WAIT_MS = 200;

/**
 * What a chained delivery may do now: `go` (attempt it), `wait` (head, watermark behind: check
 * again shortly), `held` (behind `heldBy`: no attempt, no job until released), `overflow` (dropped
 * from a chain past the bound: fails with `hold_overflow`), `free` (in no chain: attempt it),
 * `done` (it already left its chain: settled before, nothing to do), `busy` (another live worker
 * is still attempting it: an entry planned again has nothing to do here; a retry job looks again
 * shortly).
 */
export type OrderState =
  | { kind: 'go' }
  | { kind: 'wait' }
  | { kind: 'held'; heldBy: string }
  | { kind: 'overflow' }
  | { kind: 'free' }
  | { kind: 'done' }
  | { kind: 'busy' };

/** Where a delivery's chain is: enough to release it from a record alone. */
export interface ChainRef {
  id: string;
  shard: number;
  webhook: string;
  device: string;
}

/** The device whose chain a delivery of `event` to `target` joins; undefined: not ordered. */
export function orderKeyOf(target: Pick<Target, 'ordering'>, event: Pick<StoredEvent, 'device_id' | 'device'>) {
  return target.ordering === 'device' ? (event.device_id ?? event.device) : undefined;
}

/** Stream ids as chain keys that sort lexicographically as the ids do. */
export function paddedEntryId(entryId: string): string {
  const [ms, seq] = entryId.split('-');
  return `${ms.padStart(15, '0')}-${(seq ?? '0').padStart(10, '0')}`;
}

export function chainMember(entryId: string, deliveryId: string): string {
  return `${paddedEntryId(entryId)}|${deliveryId}`;
}

function parseState(s: string): OrderState {
  if (s.startsWith('held:')) return { kind: 'held', heldBy: s.slice(5) };
  if (s === 'go' || s === 'wait' || s === 'overflow' || s === 'free' || s === 'done' || s === 'busy')
    return { kind: s };
  throw new Error(`unknown order state ${s}`);
}

export function chainRefOf(r: Pick<DeliveryRecord, 'id' | 'shard' | 'webhook_id' | 'order_key'>): ChainRef | undefined {
  return r.order_key ? { id: r.id, shard: r.shard ?? 0, webhook: r.webhook_id, device: r.order_key } : undefined;
}

export function chainRefOfDelivery(d: Delivery): ChainRef | undefined {
  return d.orderKey ? { id: d.id, shard: d.shard, webhook: d.target.id, device: d.orderKey } : undefined;
}

const chainKey = (ctx: Pick<EngineContext, 'keys'>, r: ChainRef) =>
  ctx.keys.shard(r.shard).orderChain(r.webhook, r.device);

/**
 * After a consumer planned a batch: marks its entries planned, inserts its ordered deliveries
 * into their chains and says what each may do (one script on the shard's slot). Deliveries of a
 * chain that overflowed its bound and are not in this batch get their failed record here.
 */
export async function planOrdered(
  ctx: EngineContext,
  shard: number,
  marks: string[],
  deliveries: Delivery[],
  o: { consumer?: string; now?: number } = {},
): Promise<Map<string, OrderState>> {
  const now = o.now ?? Date.now();
  const planned: PlannedDelivery[] = deliveries.map((d) => ({
    chain: chainKey(ctx, chainRefOfDelivery(d)!),
    member: chainMember(d.entryIds[0], d.id),
    id: d.id,
    entryMs: d.acceptedAt,
  }));
  const out = await orderingLua(ctx.redis).plan(ctx.keys.shard(shard), CONSUMER_GROUP, {
    holdMax: ctx.orderHoldMax ?? DEFAULT_ORDER_HOLD_MAX,
    now,
    consumer: o.consumer ?? '',
    leaseMs: ctx.orderLeaseMs ?? DEFAULT_ORDER_LEASE_MS,
    marks,
    deliveries: planned,
  });
  const states = new Map<string, OrderState>();
  deliveries.forEach((d, i) => states.set(d.id, parseState(out.states[i])));
  const older = out.overflowed.filter((id) => !states.has(id));
  if (older.length) await failOverflowed(ctx, older, now);
  return states;
}

/** Held deliveries pushed out of a chain past its bound: `failed`, `hold_overflow`. */
async function failOverflowed(ctx: EngineContext, ids: string[], now: number): Promise<void> {
  const at = new Date(now).toISOString();
  const records = (await ctx.deliveries.getMany(ids)).filter((r): r is DeliveryRecord => !!r);
  const failed = records.map((r) => {
    const { held_by: _h, ...rest } = r;
    return {
      ...rest,
      status: 'failed' as const,
      error: 'hold_overflow' as const,
      next_attempt_at: null,
      updated_at: at,
    };
  });
  if (failed.length) await ctx.deliveries.write(failed, { created: false });
  ctx.logger.warn('held deliveries failed: chain past DEVHOOKS_ORDER_HOLD_MAX', { deliveries: ids.length });
}

/** The gate of one chained delivery (a retry job): what it may do now. */
export async function gateOrdered(ctx: EngineContext, ref: ChainRef, now = Date.now()): Promise<OrderState> {
  const s = await orderingLua(ctx.redis).gate(ctx.keys.shard(ref.shard), CONSUMER_GROUP, chainKey(ctx, ref), ref.id, {
    now,
    consumer: ctx.consumer ?? '',
    leaseMs: ctx.orderLeaseMs ?? DEFAULT_ORDER_LEASE_MS,
  });
  return parseState(s);
}

/** A delivery tried again by hand after it left its chain: joins it at the end (docs/contract.md §8). */
export async function rejoinAtEnd(ctx: EngineContext, ref: ChainRef, entryMs: number): Promise<void> {
  await orderingLua(ctx.redis).reinsert(ctx.keys.shard(ref.shard), chainKey(ctx, ref), ref.id, entryMs);
}

/** The delivery just before this one in its chain, read now (GET /v1/deliveries/{id}). */
export async function heldByNow(
  ctx: Pick<EngineContext, 'redis' | 'keys'>,
  ref: ChainRef,
): Promise<string | undefined> {
  return orderingLua(ctx.redis).heldBy(ctx.keys.shard(ref.shard), chainKey(ctx, ref), ref.id);
}

/** A delivery's first record (delivery.ts), for a delivery about to be held or failed. */
export function newRecordOf(d: Delivery, now = Date.now()): DeliveryRecord {
  return newRecord(d, now);
}

/**
 * Records as read now: a pending ordered delivery's `held_by` is looked up in its chain (the one
 * just before it; none when it is the head), so it never names a delivery that has finished.
 */
export async function withCurrentHolds(
  ctx: Pick<EngineContext, 'redis' | 'keys'>,
  records: DeliveryRecord[],
): Promise<DeliveryRecord[]> {
  return Promise.all(
    records.map(async (r) => {
      const ref = r.status === 'pending' ? chainRefOf(r) : undefined;
      if (!ref) return r;
      const heldBy = await heldByNow(ctx, ref);
      const { held_by: _h, ...rest } = r;
      return heldBy ? { ...rest, held_by: heldBy } : rest;
    }),
  );
}

/** The record of a delivery held behind `heldBy`: pending, no next attempt until released. */
export function heldRecord(r: DeliveryRecord, heldBy: string, now = Date.now()): DeliveryRecord {
  return { ...r, status: 'pending', held_by: heldBy, next_attempt_at: null, updated_at: new Date(now).toISOString() };
}

/**
 * Deliveries settled for good (their records committed): each leaves its chain; a held new head
 * gets its job (delay 0, no attempt used). A crash between the two is covered by the released
 * mark the script leaves, swept by every worker (ordering/release-sweep.ts). A delivery another
 * live worker is still attempting stays (this worker was taken for dead and settled it late):
 * that worker releases it when its attempt settles.
 */
export async function releaseChains(ctx: EngineContext, refs: ChainRef[], now = Date.now()): Promise<void> {
  const lua = orderingLua(ctx.redis);
  const consumer = ctx.consumer ?? '';
  const outs = await Promise.all(
    refs.map((r) => lua.release(ctx.keys.shard(r.shard), chainKey(ctx, r), r.id, { now, consumer })),
  );
  const released = outs.flatMap((o) => (o.released && o.head ? [o.head] : []));
  const left = outs.filter((o) => !o.released).length;
  // usually a sweep that came between another worker's record and its release; after a stall, the
  // late settle of a worker taken for dead
  if (left) ctx.logger.debug('settled deliveries still attempted by another worker: left to it', { deliveries: left });
  if (released.length) await enqueueReleased(ctx, released);
}

/**
 * Ordered deliveries whose attempt here ended without settling them (put off to the retry queue):
 * this worker is no longer at them (see releaseChains).
 */
export async function letGoOfAttempts(ctx: EngineContext, refs: ChainRef[]): Promise<void> {
  if (!ctx.consumer || !refs.length) return;
  const byShard = new Map<number, string[]>();
  for (const r of refs) {
    const ids = byShard.get(r.shard);
    if (ids) ids.push(r.id);
    else byShard.set(r.shard, [r.id]);
  }
  const lua = orderingLua(ctx.redis);
  await Promise.all([...byShard].map(([shard, ids]) => lua.letGo(ctx.keys.shard(shard), ctx.consumer!, ids)));
}

/**
 * Chained deliveries whose record is gone from the delivery log (expired): nothing is left to send, so they leave their chains
 * (found by id) and the chains move on. Returns how many were chained.
 */
export async function releaseOrphans(
  ctx: EngineContext,
  shard: number,
  ids: string[],
  now = Date.now(),
): Promise<number> {
  if (!ids.length) return 0;
  const k = ctx.keys.shard(shard);
  const chains = await ctx.redis.hmget(k.orderChainOf, ...ids);
  const lua = orderingLua(ctx.redis);
  const heads: string[] = [];
  let n = 0;
  for (let i = 0; i < ids.length; i++) {
    const chain = chains[i];
    if (!chain) continue;
    n++;
    const out = await lua.release(k, chain, ids[i], { now, consumer: ctx.consumer ?? '', force: true });
    if (out.released && out.head) heads.push(out.head);
  }
  if (n) ctx.logger.warn('chained deliveries without a record released (gone from the log)', { shard, deliveries: n });
  if (heads.length) await enqueueReleased(ctx, heads);
  return n;
}

/** Adds the job of each released delivery whose record says it is still pending (others: left to the sweep). */
export async function enqueueReleased(ctx: EngineContext, ids: string[]): Promise<void> {
  const records = await ctx.deliveries.getMany(ids);
  for (const r of records) {
    if (!r || r.status !== 'pending') continue;
    const target = await ctx.directory.fetch(r.org_id, r.webhook_id);
    const named = target ?? { name: r.webhook_id, origin: new URL(r.url).origin };
    // a finished job of the same id (a parked failure before a retry by hand) would swallow the add
    const old = await ctx.queues.of(r.shard).getJob(r.id);
    if (old && ['completed', 'failed'].includes(await old.getState())) await old.remove().catch(() => undefined);
    await ctx.queues.of(r.shard).addBulk(retryJobs([{ record: r, target: named, delayMs: 0 }], ctx.schedule.length));
  }
}
