/**
 * One delivery attempt: admission (origin limits and breaker), signing, the request, and the
 * decision that follows (docs/contract.md §6). Pure of persistence: the caller commits the record.
 */
import {
  classify,
  ERROR_DESCRIPTIONS,
  httpError,
  isUnreachableError,
  nextDelay,
  parseRetryAfter,
  signatureHeaders,
  type AttemptResult,
  type Outcome,
} from '@devhooks/core';
import { traceAttempt, tracingOn } from '../ops/tracing';
import { attemptingConsumer } from '../redis/ordering-lua';
import type { EngineContext } from '../runtime/engine-context';
import { MAX_ATTEMPT_LOG, type AttemptRecord, type DeliveryRecord } from '../stores/delivery-log';
import { previousKeyAt } from '../stores/webhook-directory';
import { isoAt, newRecord, runsEarly, type Delivery } from './delivery';
import type { SlotEnd } from './origin-limiter';
import { rateLimitWait } from './rate-limit';
import type { SendResult } from './sender';

export type Decision =
  | { kind: 'succeeded' }
  /**
   * `consumed`: whether an attempt was used (false: put off for our own reasons). `retryAfterMs`:
   * what the receiver's Retry-After asked for, when it set the delay (capped at the schedule's bound).
   */
  | { kind: 'retry'; delayMs: number; consumed: boolean; retryAfterMs?: number }
  | { kind: 'failed'; disable?: string };

export interface AttemptOutcome {
  record: DeliveryRecord;
  decision: Decision;
  outcome: Outcome | 'deferred';
  /** Deferred because the attempt's deadline passed while this process stalled (SendResult.stalled). */
  stalled?: true;
  /**
   * Turned away by an open breaker and parked: its job waits until a probe to the origin succeeds
   * (delivery/parked.ts), at the latest until the record's `next_attempt_at`.
   */
  parked?: true;
  /**
   * Not attempted: this worker stalled past its liveness and another took the ordered delivery
   * over meanwhile. Nothing of it is written here: the other worker settles it.
   */
  takenOver?: true;
}

/** The scout of an open period comes back when a probe may go, plus up to this fraction of that wait. */
const SCOUT_SPREAD = 0.1;

/** An attempt cut short by a stall of ours runs again this much later, without using an attempt (ms). */
export const STALLED_RETRY_MS = 1_000;

/** What one attempt came to: an HTTP answer, a transport error, or not attempted (breaker). */
type AttemptResultFull = Omit<SendResult, 'error'> & { error?: AttemptResult['error'] };

/**
 * A delivery put off by `delayMs` without using an attempt: our own capacity, a schedule whose
 * first step is a delay, or a crash of ours. The record says when it runs next.
 */
export function deferred(d: Delivery, delayMs: number, now = Date.now()): AttemptOutcome {
  const record = d.record ? { ...d.record } : newRecord(d, now);
  record.updated_at = isoAt(now);
  record.next_attempt_at = new Date(now + delayMs).toISOString();
  return { record, decision: { kind: 'retry', delayMs, consumed: false }, outcome: 'deferred' };
}

/** The headers of one attempt (undici's flat list); signatures only when the webhook has a secret. */
export function requestHeaders(d: Delivery, timestamp: number): string[] {
  const h = d.target.baseHeaders.slice();
  h.push('webhook-id', d.messageId, 'webhook-timestamp', String(timestamp));
  const previous = previousKeyAt(d.target, timestamp * 1000);
  const sig = signatureHeaders(d.target.signing, d.target.key, d.messageId, timestamp, d.body, previous);
  for (const k in sig) h.push(k, sig[k]);
  return h;
}

/** Makes one attempt and decides what follows; never throws for receiver-side problems. */
export function attemptDelivery(ctx: EngineContext, d: Delivery): Promise<AttemptOutcome> {
  // tracing off: no span object at all (ops/tracing.ts)
  return tracingOn() ? traceAttempt(d, () => attemptOnce(ctx, d)) : attemptOnce(ctx, d);
}

async function attemptOnce(ctx: EngineContext, d: Delivery): Promise<AttemptOutcome> {
  if (d.target.rate_limit && d.topic !== 'ping') {
    // the webhook's own limit, over all workers: over it, the delivery waits without using an attempt
    const wait = await rateLimitWait(ctx.redis, ctx.keys, d.target.id, d.target.rate_limit);
    if (wait !== undefined) return deferred(d, wait);
  }
  const admitted = ctx.origins.admit(d.target.origin);
  const admission = admitted instanceof Promise ? await admitted : admitted;
  // our own capacity, not the receiver's answer: no attempt is used up
  if (!admission.ok && admission.reason === 'overloaded') return deferred(d, admission.retryInMs);

  const startedAt = Date.now();
  if (!admission.ok) {
    if (d.record && runsEarly(d.record, startedAt) && !d.trigger) {
      // run before its time (woken when a probe of another process, or another breaker period,
      // found the receiver answering; not by hand) and turned away by this process's breaker,
      // still open: not its turn, so no attempt is used, and it goes back to its place, parked
      // until a probe succeeds or its time comes. Counted, each such wake burnt an attempt: with
      // several workers, each waking what the others' breakers then turned away, a 12-step
      // schedule was spent in seconds while the receiver answered most requests (ADR 0005,
      // "Parked"). Parked 1 ms later than before: the wake that promoted it takes it off the
      // parked set only if its time is unchanged (parked.ts), and must leave it there now.
      return { ...deferred(d, Date.parse(d.record.next_attempt_at!) + 1 - startedAt, startedAt), parked: true };
    }
    // the next attempt no sooner than the breaker lets a probe through: its schedule is not burnt
    // through while the breaker stays open (a short schedule would fail for good in seconds).
    // One delivery per open period (the scout) comes back then, to be the probe; the others are
    // parked (parked.ts): their jobs wait until a probe succeeds and wakes them, at most the
    // breaker's longest cooldown, instead of each waking at every probe only to be turned away
    // again (a record, a job move and more per delivery, ADR 0005 "Parked").
    const open = { error: 'circuit_open' as const, durationMs: 0 };
    if (admission.probeInMs !== undefined && ctx.origins.scout(d.target.origin)) {
      const notBeforeMs = Math.ceil(admission.probeInMs * (1 + SCOUT_SPREAD * Math.random()));
      return decide(ctx, d, open, startedAt, Date.now(), { notBeforeMs });
    }
    const out = decide(ctx, d, open, startedAt, Date.now(), { notBeforeMs: ctx.origins.parkedDelayMs() });
    return out.decision.kind === 'retry' ? { ...out, parked: true } : out;
  }
  if (d.chainHead && ctx.liveness && !ctx.liveness.surelyHeld()) {
    // an ordered head, and this worker may have been taken for dead since its chain said go: only
    // the one attempting it now may send, or a late copy could reach the receiver after the next
    // event of the device (docs/decisions/0007-ordered-delivery.md, "stalls")
    let mine: boolean | undefined;
    try {
      mine = attemptingConsumer(await ctx.redis.hget(ctx.keys.shard(d.shard).orderGoing, d.id)) === ctx.consumer;
    } catch {
      mine = undefined; // unknown: put off (no attempt used), never dropped
    }
    if (!mine) {
      admission.release(0, 'stalled');
      return mine === false ? { ...deferred(d, STALLED_RETRY_MS), takenOver: true } : deferred(d, STALLED_RETRY_MS);
    }
  }
  let result: SendResult | undefined;
  try {
    result = await ctx.sender.send({
      origin: d.target.origin,
      path: d.target.path,
      headers: requestHeaders(d, Math.floor(startedAt / 1000)),
      body: d.body,
    });
  } finally {
    // in finally: a throw must never leak the origin slot; unreachable results feed the breaker.
    // An answer to a delivery a breaker turned away last time wakes what that breaker parked,
    // whichever process's it was (origin-limiter.ts onReachable)
    admission.release(result?.durationMs ?? Date.now() - startedAt, slotEnd(result), {
      afterRefusal: d.record?.attempt_log[d.record.attempt_log.length - 1]?.error === 'circuit_open',
    });
  }
  if (result.stalled) {
    // our stall, not the receiver's answer: tried again shortly, no attempt used (it may have
    // reached the receiver: delivery is at least once)
    ctx.metrics.attemptsBy('stalled').inc();
    return { ...deferred(d, STALLED_RETRY_MS), stalled: true };
  }
  return decide(ctx, d, result, startedAt);
}

function slotEnd(result: SendResult | undefined): SlotEnd {
  if (result?.stalled) return 'stalled';
  return isUnreachableError(result?.error) ? 'unreachable' : 'answered';
}

/** The attempt's entry in the record's attempt log. */
function attemptEntry(d: Delivery, result: AttemptResultFull, startedAt: number): AttemptRecord {
  const attempt: AttemptRecord = {
    at: isoAt(startedAt),
    status_code: result.statusCode ?? null,
    duration_ms: result.durationMs,
    error: result.error ?? null,
  };
  const words = result.errorMessage ?? (result.error && ERROR_DESCRIPTIONS[result.error]);
  if (words) attempt.error_message = words;
  if (result.responseHeaders) attempt.response_headers = result.responseHeaders;
  if (result.responseBody !== undefined) attempt.response_body = result.responseBody;
  if (d.trigger) attempt.trigger = d.trigger;
  return attempt;
}

/** The decision of contract §6 for one attempt's result, applied to a copy of the record. */
export function decide(
  ctx: Pick<EngineContext, 'schedule' | 'metrics'>,
  d: Delivery,
  result: AttemptResultFull,
  startedAt: number,
  end = Date.now(),
  /** The next attempt waits at least this long (ms): until the breaker lets a probe through. */
  o: { notBeforeMs?: number } = {},
): AttemptOutcome {
  const record = d.record ? { ...d.record, attempt_log: [...d.record.attempt_log] } : newRecord(d, startedAt);
  const outcome = classify({ statusCode: result.error ? undefined : result.statusCode, error: result.error });

  record.attempts += 1;
  record.attempt_log.push(attemptEntry(d, result, startedAt));
  if (record.attempt_log.length > MAX_ATTEMPT_LOG)
    record.attempt_log.splice(0, record.attempt_log.length - MAX_ATTEMPT_LOG);
  record.status_code = result.statusCode ?? null;
  record.error = result.error ?? (outcome === 'success' ? null : httpError(result.statusCode!));
  record.updated_at = isoAt(end);

  ctx.metrics.attemptsBy(outcome).inc();
  ctx.metrics.attemptDuration.observe(result.durationMs / 1000);

  if (outcome === 'success') {
    record.status = 'succeeded';
    record.error = null;
    record.next_attempt_at = null;
    ctx.metrics.latency.observe((end - d.acceptedAt) / 1000);
    return { record, decision: { kind: 'succeeded' }, outcome };
  }
  if (outcome === 'retry') {
    const retryAfterMs = parseRetryAfter(result.retryAfter, end);
    const scheduled = nextDelay(ctx.schedule, record.attempts, retryAfterMs);
    const delay =
      scheduled !== undefined && o.notBeforeMs !== undefined ? Math.max(scheduled, o.notBeforeMs) : scheduled;
    if (delay !== undefined) {
      record.status = 'pending';
      record.next_attempt_at = new Date(end + delay).toISOString();
      const decision: Decision = { kind: 'retry', delayMs: delay, consumed: true };
      if (retryAfterMs !== undefined) decision.retryAfterMs = retryAfterMs;
      return { record, decision, outcome };
    }
  }
  record.status = 'failed';
  record.next_attempt_at = null;
  if (outcome === 'fail_disable') {
    return { record, decision: { kind: 'failed', disable: 'the endpoint answered 410 Gone' }, outcome };
  }
  return { record, decision: { kind: 'failed' }, outcome };
}

/** A delivery that ends without an attempt of its own (`webhook_deleted`, `event_expired`, …). */
export function endedWithout(record: DeliveryRecord, error: DeliveryRecord['error'], now = Date.now()): AttemptOutcome {
  const r: DeliveryRecord = { ...record, status: 'failed', error, next_attempt_at: null, updated_at: isoAt(now) };
  return { record: r, decision: { kind: 'failed' }, outcome: 'fail' };
}
