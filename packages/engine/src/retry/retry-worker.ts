/**
 * The retry path: BullMQ jobs (one per delivery, id = delivery id) run each scheduled attempt,
 * then move themselves back to delayed for the next one (DelayedError), or end: completed on
 * success, failed (UnrecoverableError) when the delivery has failed for good, where the dashboard
 * lists them and a retry by hand (API or Bull Board) runs one more attempt.
 */
import { DelayedError, UnrecoverableError, Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import { RETRY_QUEUE } from '@devhooks/core';
import { attemptDelivery, endedWithout, type AttemptOutcome } from '../delivery/attempt';
import { commit, PendingWrites } from '../delivery/commit';
import { isoAt, makeDelivery, type Delivery } from '../delivery/delivery';
import { OriginSlots } from '../delivery/origin-slots';
import { entryShardsOf, loadEvents } from '../log/event-reader';
import type { EngineContext } from '../runtime/engine-context';
import type { DeliveryRecord } from '../stores/delivery-log';
import type { Target } from '../stores/webhook-directory';
import { chainRefOf, gateOrdered, heldRecord, ORDER_WAIT_MS, rejoinAtEnd, releaseChains } from '../ordering/chains';
import { delayJobUntil, showAttempt } from './job-view';
import { isManualAttempt, reopenForManualAttempt } from './manual-attempt';
import { endedWithoutLine } from './retry-job-log';
import type { RetryJobData } from './retry-queue';

/**
 * The share of a retry worker's concurrency one origin whose receiver does not answer fast may hold: attempts to
 * receivers that hang must not take every job slot, or the other webhooks' retries pile up behind
 * them and all run at once when the hanging attempts end (a CPU burst that delays every delivery of
 * the process; issue 13, defect 5).
 */
export function retryShare(concurrency: number): number {
  return Math.max(1, Math.ceil(concurrency / 8));
}

export interface RetryWorkerOptions {
  /** The queue's BullMQ prefix (its shard's: keys.shard(n).queuePrefix). */
  prefix: string;
  concurrency: number;
  /** Longer than one attempt, so a slow attempt is never run twice at once. */
  lockDurationMs: number;
  /** What the stream consumers know of origins' speed (the fan-out's per-origin slots). */
  slowOrigins?: Pick<OriginSlots, 'knownSlow' | 'answersFast'>;
}

function describe(r: DeliveryRecord): string {
  const why = r.error ?? (r.status_code ? `http_${r.status_code}` : 'failed');
  return `${why} after ${r.attempts} attempt${r.attempts === 1 ? '' : 's'} (delivery ${r.id}, webhook ${r.webhook_id})`;
}

/** Persists an outcome reached in a job (the job moves itself: no job is added). */
async function persist(ctx: EngineContext, d: Delivery | undefined, out: AttemptOutcome): Promise<void> {
  const e = new PendingWrites();
  if (d) e.settle(d, out, { asJob: true });
  else {
    e.updated.push(out.record);
    // ended without an attempt: an ordered delivery leaves its chain all the same
    const chain = out.decision.kind === 'failed' ? chainRefOf(out.record) : undefined;
    if (chain) e.releases.push(chain);
  }
  await commit(ctx, e);
}

async function finish(
  ctx: EngineContext,
  job: Job<RetryJobData>,
  r: DeliveryRecord,
  error: DeliveryRecord['error'],
): Promise<never> {
  const out = endedWithout(r, error);
  await persist(ctx, undefined, out);
  await job.log(endedWithoutLine(error));
  throw new UnrecoverableError(describe(out.record));
}

/** One attempt of a job holding its origin's slot: events loaded, attempted, persisted and shown. */
async function attemptHolding(
  ctx: EngineContext,
  job: Job<RetryJobData>,
  rec: DeliveryRecord,
  target: Target,
  o: { manual: boolean; chainHead: boolean; slots: OriginSlots; release: ReturnType<OriginSlots['take']> },
): Promise<AttemptOutcome> {
  const shard = rec.shard ?? 0;
  const entryShards = entryShardsOf(rec);
  const events = await loadEvents(ctx.redis, ctx.keys, entryShards, rec.entry_ids);
  if (!events) return finish(ctx, job, rec, 'event_expired');
  // retried by hand from the failed list (API or dashboard): the delivery reads pending meanwhile
  if (o.manual && rec.status !== 'pending') Object.assign(rec, await reopenForManualAttempt(ctx.deliveries, rec));

  const record = { ...rec, url: target.url };
  const d = makeDelivery(target, rec.topic, events, rec.entry_ids, { shard, entryShards, record });
  if (o.manual) d.trigger = job.data.trigger ?? 'manual';
  if (o.chainHead) d.chainHead = true;
  const attempt = () => attemptDelivery(ctx, d);
  const out = await (o.release ? o.slots.holding(o.release, attempt) : attempt());
  // taken over while this worker stalled (this job ran again elsewhere): nothing written here
  if (out.takenOver) return out;
  await persist(ctx, d, out);
  ctx.attemptLog.attempt(d, out, { manual: o.manual });
  await showAttempt(job, out, target, { attemptsTotal: ctx.schedule.length, manual: o.manual });
  return out;
}

export async function processRetry(
  ctx: EngineContext,
  job: Job<RetryJobData>,
  token: string | undefined,
  /** This worker's job slots shared out between origins (retryShare). */
  slots: OriginSlots,
  /** What the stream consumers know of origins' speed (the fan-out's slots), if given. */
  slow?: Pick<OriginSlots, 'knownSlow' | 'answersFast'>,
): Promise<string> {
  const { deliveryId } = job.data;
  const rec = await ctx.deliveries.get(deliveryId);
  if (job.data.park) {
    // failed at its first attempt: park it in the failed list; a retry by hand runs a real attempt
    await job.updateData({ ...job.data, park: undefined });
    throw new UnrecoverableError(rec ? describe(rec) : `delivery ${deliveryId} failed`);
  }
  if (!rec) {
    // gone from the delivery log (past its TTL): nothing left to send, but say so
    ctx.logger.warn('retry found no delivery record; nothing sent', { delivery_id: deliveryId, job_id: job.id });
    return 'expired';
  }
  const manual = isManualAttempt(job.data, rec);
  if (rec.status === 'succeeded' && !manual) {
    // a job run again after its worker died between the record and the release: release now
    const done = chainRefOf(rec);
    if (done) await releaseChains(ctx, [done]);
    return 'already delivered';
  }

  const target = await ctx.directory.fetch(rec.org_id, rec.webhook_id);
  if (!target) return finish(ctx, job, rec, 'webhook_deleted');
  if (!target.enabled && rec.topic !== 'ping') return finish(ctx, job, rec, 'webhook_disabled');
  const chain = chainRefOf(rec);
  let chainHead = false;
  if (chain) {
    // ordered (docs/contract.md §8): only its chain's head is attempted
    let state = await gateOrdered(ctx, chain);
    if ((state.kind === 'free' || state.kind === 'done') && manual) {
      // tried again by hand after it left its chain: it joins at the end, behind what was sent since
      await rejoinAtEnd(ctx, chain, Date.parse(rec.created_at));
      state = await gateOrdered(ctx, chain);
    }
    if (state.kind === 'overflow') return finish(ctx, job, rec, 'hold_overflow');
    // it left its chain for good while this job waited (another worker settled it): never again
    if (state.kind === 'done') return 'settled by another worker';
    if (state.kind === 'wait' || state.kind === 'busy') {
      // not reached yet, or another live worker is still attempting it (this job ran again)
      await delayJobUntil(ctx.redis, job, Date.now() + ORDER_WAIT_MS, token);
      throw new DelayedError();
    }
    if (state.kind === 'held') {
      // no attempt and no job: the release of the one before it adds its job again
      if (rec.held_by !== state.heldBy || rec.status !== 'pending') {
        const reopened = manual && rec.status !== 'pending' ? await reopenForManualAttempt(ctx.deliveries, rec) : rec;
        await ctx.deliveries.write([heldRecord(reopened, state.heldBy)], { created: false });
      }
      return `held by ${state.heldBy}`;
    }
    if (rec.held_by) delete rec.held_by;
    chainHead = state.kind === 'go';
  }
  // past its origin's share of this worker's job slots: put off again, before any other work,
  // unless its receiver answers fast (by this worker's attempts or the stream consumers') and is
  // not known to hang now: putting off a busy fast receiver's jobs would only add work (records,
  // job moves) to a busy process. A manual attempt is never put off: someone asked for it now.
  const origin = target.origin;
  let release = manual ? undefined : slots.take(origin);
  if (
    !manual &&
    !release &&
    // its breaker open: the attempt is turned away at once and parked (or is the scout), holding
    // its slot for no time; put off, it would only come back later to be turned away then
    (ctx.origins.isOpen(origin) ||
      ((slots.answersFast(origin) || slow?.answersFast(origin)) && !slow?.knownSlow(origin)))
  ) {
    release = slots.take(origin, { beyondShare: true });
  }
  if (!manual && !release) {
    const delayMs = slots.deferralMs(origin);
    const now = Date.now();
    const e = new PendingWrites();
    const putOff = { ...rec, updated_at: isoAt(now), next_attempt_at: new Date(now + delayMs).toISOString() };
    e.updated.push(putOff);
    if (chainHead && chain) e.letGo.push(chain); // not attempted here: the head is free for whoever runs it next
    await commit(ctx, e);
    // the board shows it: the job's next_attempt_at and a "no attempt made" line (100 lines kept)
    const decision = { kind: 'retry' as const, delayMs, consumed: false };
    await showAttempt(job, { record: putOff, decision, outcome: 'deferred' }, target, {
      attemptsTotal: ctx.schedule.length,
    });
    await delayJobUntil(ctx.redis, job, now + delayMs, token);
    throw new DelayedError();
  }
  let out: AttemptOutcome;
  try {
    out = await attemptHolding(ctx, job, rec, target, { manual, chainHead, slots, release });
  } finally {
    release?.(null); // no-op once the attempt released it with what it learnt
  }
  if (out.takenOver) return 'attempted by another worker';
  switch (out.decision.kind) {
    case 'succeeded':
      return 'succeeded';
    case 'retry':
      await delayJobUntil(ctx.redis, job, Date.now() + out.decision.delayMs, token);
      throw new DelayedError();
    case 'failed':
      throw new UnrecoverableError(describe(out.record));
  }
}

export function createRetryWorker(ctx: EngineContext, connection: Redis, o: RetryWorkerOptions): Worker<RetryJobData> {
  const slots = new OriginSlots(ctx.origins, { perOrigin: retryShare(o.concurrency) });
  const worker = new Worker<RetryJobData>(
    RETRY_QUEUE,
    (job, token) => processRetry(ctx, job, token, slots, o.slowOrigins),
    {
      connection,
      prefix: o.prefix,
      concurrency: o.concurrency,
      lockDuration: o.lockDurationMs,
      stalledInterval: Math.max(5_000, Math.floor(o.lockDurationMs / 2)),
      maxStalledCount: 5,
      autorun: false,
    },
  );
  worker.on('error', (err) => ctx.logger.error('retry worker error', { error: err.message }));
  return worker;
}
