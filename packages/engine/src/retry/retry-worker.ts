/**
 * The retry path: BullMQ jobs (one per delivery, id = delivery id) run each scheduled attempt,
 * then move themselves back to delayed for the next one (DelayedError), or end: completed on
 * success, failed (UnrecoverableError) when the delivery has failed for good, where the dashboard
 * lists them and a retry by hand (API or Bull Board) runs one more attempt.
 */
import { DelayedError, UnrecoverableError, Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import { RETRY_QUEUE, type Keys, type StoredEvent } from '@devhooks/core';
import { attemptDelivery, makeDelivery } from '../delivery/attempt';
import { PendingWrites, commit } from '../delivery/commit';
import type { EngineContext } from '../runtime/engine-context';
import type { DeliveryRecord } from '../stores/delivery-log';
import type { RetryJobData } from './retry-queue';
import { decodeEvent } from '../log/stream-codec';

export interface RetryWorkerOptions {
  concurrency: number;
  /** Longer than one attempt, so a slow attempt is never run twice at once. */
  lockDurationMs: number;
  shard: number;
}

function describe(r: DeliveryRecord): string {
  const why = r.error ?? (r.status_code ? `http_${r.status_code}` : 'failed');
  return `${why} after ${r.attempts} attempt${r.attempts === 1 ? '' : 's'} (delivery ${r.id}, webhook ${r.webhook_id})`;
}

/** The events a delivery carries, read back from the stream; undefined if any has been trimmed. */
export async function loadEvents(
  redis: Redis,
  keys: Keys,
  shard: number,
  entryIds: string[],
): Promise<StoredEvent[] | undefined> {
  const stream = keys.shard(shard).stream;
  const p = redis.pipeline();
  for (const id of entryIds) p.xrange(stream, id, id);
  const res = (await p.exec()) ?? [];
  const out: StoredEvent[] = [];
  for (const [err, rows] of res) {
    if (err) throw err;
    const entry = (rows as Array<[string, string[]]>)[0];
    if (!entry) return undefined;
    out.push(decodeEvent(entry[1]));
  }
  return out;
}

async function finish(ctx: EngineContext, r: DeliveryRecord, error: string): Promise<never> {
  const now = new Date().toISOString();
  const record: DeliveryRecord = { ...r, status: 'failed', error, next_attempt_at: null, updated_at: now };
  const e = new PendingWrites();
  e.updated.push(record);
  await commit(ctx, e);
  throw new UnrecoverableError(describe(record));
}

export async function processRetry(
  ctx: EngineContext,
  job: Job<RetryJobData>,
  token: string | undefined,
  shard = 0,
): Promise<string> {
  const { deliveryId } = job.data;
  const rec = await ctx.deliveries.get(deliveryId);
  if (job.data.park) {
    // failed at its first attempt: park it in the failed list; a retry by hand runs a real attempt
    await job.updateData({ deliveryId });
    throw new UnrecoverableError(rec ? describe(rec) : `delivery ${deliveryId} failed`);
  }
  if (!rec) return 'expired'; // gone from the delivery log: nothing left to send
  const manual = !!job.data.manual || rec.status === 'failed';
  const trigger = job.data.trigger;
  if (rec.status === 'succeeded' && !manual) return 'already delivered';
  if (job.data.manual) await job.updateData({ deliveryId });

  const target = await ctx.directory.fetch(rec.org_id, rec.webhook_id);
  if (!target) return finish(ctx, rec, 'webhook_deleted');
  if (!target.enabled && rec.topic !== 'ping') return finish(ctx, rec, 'webhook_disabled');
  const events = await loadEvents(ctx.redis, ctx.keys, shard, rec.entry_ids);
  if (!events) return finish(ctx, rec, 'event_expired');

  const d = makeDelivery(target, rec.topic, events, rec.entry_ids, { ...rec, url: target.url });
  d.manual = manual;
  if (trigger) d.trigger = trigger;
  const out = await attemptDelivery(ctx, d);
  const e = new PendingWrites();
  e.settle(d, out, true);
  await commit(ctx, e, shard);
  ctx.logger.log(
    out.outcome === 'deferred' ? 'debug' : 'info',
    out.outcome === 'deferred' ? 'delivery deferred' : 'delivery attempt',
    {
      delivery_id: rec.id,
      webhook_id: rec.webhook_id,
      attempt: out.record.attempts,
      status: out.record.status,
      status_code: out.record.status_code,
      error: out.record.error,
      next_attempt_at: out.record.next_attempt_at,
      manual,
    },
  );

  switch (out.decision.kind) {
    case 'succeeded':
      return 'succeeded';
    case 'retry':
      await job.moveToDelayed(Date.now() + out.decision.delayMs, token);
      throw new DelayedError();
    case 'failed':
      throw new UnrecoverableError(describe(out.record));
  }
}

export function createRetryWorker(ctx: EngineContext, connection: Redis, o: RetryWorkerOptions): Worker<RetryJobData> {
  const worker = new Worker<RetryJobData>(RETRY_QUEUE, (job, token) => processRetry(ctx, job, token, o.shard), {
    connection,
    prefix: ctx.keys.tag,
    concurrency: o.concurrency,
    lockDuration: o.lockDurationMs,
    stalledInterval: Math.max(5_000, Math.floor(o.lockDurationMs / 2)),
    maxStalledCount: 5,
    autorun: false,
  });
  worker.on('error', (err) => ctx.logger.error('retry worker error', { error: err.message }));
  return worker;
}
