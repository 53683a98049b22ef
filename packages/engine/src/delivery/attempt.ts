/**
 * One delivery attempt: admission (endpoint limits and breaker), signing, the request, and the
 * decision that follows (contract §6). Pure of persistence: the caller commits the returned record.
 */
import {
  batchMessageId,
  classify,
  deliveryBody,
  deliveryId,
  nextDelay,
  parseRetryAfter,
  signatureHeaders,
  type DeliveryTopic,
  type Outcome,
  type StoredEvent,
} from '@devhooks/core';
import type { EngineContext } from '../runtime/engine-context';
import { MAX_ATTEMPT_LOG, type AttemptRecord, type DeliveryRecord } from '../stores/delivery-log';
import type { SendResult } from './sender';
import { entryTime } from '../log/stream-codec';
import { previousKeyAt, type Target } from '../stores/webhook-directory';
import { deferredOutcome, rateLimitWait } from './rate-limit';

/** A delivery in memory: what it carries, where, and its body, built once for all attempts. */
export interface Delivery {
  id: string;
  target: Target;
  topic: DeliveryTopic;
  events: StoredEvent[];
  entryIds: string[];
  messageId: string;
  body: string;
  /** Its record so far (undefined before the first attempt). */
  record?: DeliveryRecord;
  /** When the oldest event was accepted (ms): delivery latency is measured from it. */
  acceptedAt: number;
  manual?: boolean;
  /** Why a manual attempt runs, when not a retry by hand (`recover`). */
  trigger?: 'recover';
}

/**
 * A delivery of `events` (one, or a Mist batch) to `target`. Its id and message id derive from the
 * stream entries it carries, so rebuilding it (a retry, a re-read entry) gives the same ones.
 */
export function makeDelivery(
  target: Target,
  topic: DeliveryTopic,
  events: StoredEvent[],
  entryIds: string[],
  record?: DeliveryRecord,
  /** The body, when already built (one event fanned out to many webhooks shares one body). */
  body?: string,
): Delivery {
  return {
    id: record?.id ?? deliveryId(entryIds[0], target.id, events.length),
    target,
    topic,
    events,
    entryIds,
    messageId: record?.message_id ?? (events.length === 1 ? events[0].id : batchMessageId(entryIds)),
    body: body ?? deliveryBody(topic, events),
    record,
    acceptedAt: entryTime(entryIds[0]),
  };
}

export type Decision =
  { kind: 'succeeded' } | { kind: 'retry'; delayMs: number; consumed: boolean } | { kind: 'failed'; disable?: string };

export interface AttemptOutcome {
  record: DeliveryRecord;
  decision: Decision;
  outcome: Outcome | 'deferred';
}

/** Connection-level failures: they count towards the endpoint's circuit breaker. */
const UNREACHABLE = new Set([
  'timeout',
  'connection_refused',
  'connection_reset',
  'dns_error',
  'network_error',
  'tls_error',
]);

const ERROR_WORDS: Record<string, string> = {
  circuit_open: 'not attempted: the endpoint keeps timing out or refusing connections (circuit breaker open)',
  blocked_address: 'refused by the address policy before connecting',
};

let lastMs = -1;
let lastIso = '';
/** ISO 8601 of a time in ms; thousands of deliveries settle per second, many in the same ms. */
function isoAt(ms: number): string {
  if (ms !== lastMs) {
    lastMs = ms;
    lastIso = new Date(ms).toISOString();
  }
  return lastIso;
}

/**
 * A delivery's first record. `created_at` is when its (first) event was accepted: the delivery
 * exists from then on, and the log is ordered, filtered (`since`/`until`) and kept by that time.
 */
export function newRecord(d: Delivery, now: number): DeliveryRecord {
  const at = isoAt(now);
  return {
    id: d.id,
    org_id: d.target.org_id,
    webhook_id: d.target.id,
    event_ids: d.events.map((e) => e.id),
    entry_ids: d.entryIds,
    topic: d.topic,
    message_id: d.messageId,
    url: d.target.url,
    status: 'pending',
    attempts: 0,
    status_code: null,
    error: null,
    created_at: isoAt(d.acceptedAt),
    updated_at: at,
    next_attempt_at: at,
    attempt_log: [],
  };
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
export async function attemptDelivery(ctx: EngineContext, d: Delivery): Promise<AttemptOutcome> {
  const now = Date.now();
  const record = d.record ? { ...d.record, attempt_log: [...d.record.attempt_log] } : newRecord(d, now);
  if (d.target.rate_limit && d.topic !== 'ping') {
    // the webhook's own limit, over all workers: over it, the delivery waits without using an attempt
    const wait = await rateLimitWait(ctx.redis, ctx.keys, d.target.id, d.target.rate_limit);
    if (wait !== undefined) return deferredOutcome(record, now, wait);
  }
  const admitted = ctx.origins.admit(d.target.origin);
  const admission = admitted instanceof Promise ? await admitted : admitted;

  if (!admission.ok && admission.reason === 'overloaded') {
    // our own capacity, not the receiver's answer: no attempt is used up
    record.updated_at = new Date(now).toISOString();
    record.next_attempt_at = new Date(now + admission.retryInMs).toISOString();
    return { record, decision: { kind: 'retry', delayMs: admission.retryInMs, consumed: false }, outcome: 'deferred' };
  }

  let result: SendResult | undefined;
  const startedAt = Date.now();
  if (!admission.ok) {
    result = { error: 'circuit_open', errorMessage: ERROR_WORDS.circuit_open, durationMs: 0 };
  } else {
    const ts = Math.floor(startedAt / 1000);
    try {
      result = await ctx.sender.send({
        origin: d.target.origin,
        path: d.target.path,
        headers: requestHeaders(d, ts),
        body: d.body,
      });
    } finally {
      // in finally: a throw must never leak the endpoint slot; unreachable results feed the breaker
      admission.release(result?.durationMs ?? Date.now() - startedAt, isUnreachable(result?.error));
    }
  }
  return decide(ctx, d, record, result, startedAt);
}

function decide(
  ctx: EngineContext,
  d: Delivery,
  record: DeliveryRecord,
  result: SendResult,
  startedAt: number,
): AttemptOutcome {
  const end = Date.now();
  const outcome = classify({ statusCode: result.error ? undefined : result.statusCode, error: result.error });
  const attempt: AttemptRecord = {
    at: isoAt(startedAt),
    status_code: result.statusCode ?? null,
    duration_ms: result.durationMs,
    error: result.error ?? null,
  };
  if (result.errorMessage) attempt.error_message = result.errorMessage;
  else if (result.error && ERROR_WORDS[result.error]) attempt.error_message = ERROR_WORDS[result.error];
  if (result.responseHeaders) attempt.response_headers = result.responseHeaders;
  if (result.responseBody !== undefined) attempt.response_body = result.responseBody;
  if (d.manual) attempt.trigger = d.trigger ?? 'manual';

  record.attempts += 1;
  record.attempt_log.push(attempt);
  if (record.attempt_log.length > MAX_ATTEMPT_LOG)
    record.attempt_log.splice(0, record.attempt_log.length - MAX_ATTEMPT_LOG);
  record.status_code = result.statusCode ?? null;
  record.error = result.error ?? (outcome === 'success' ? null : `http_${result.statusCode}`);
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
    const delay = nextDelay(ctx.schedule, record.attempts, parseRetryAfter(result.retryAfter, end));
    if (delay !== undefined) {
      record.status = 'pending';
      record.next_attempt_at = new Date(end + delay).toISOString();
      return { record, decision: { kind: 'retry', delayMs: delay, consumed: true }, outcome };
    }
  }
  record.status = 'failed';
  record.next_attempt_at = null;
  if (outcome === 'fail_disable') {
    return { record, decision: { kind: 'failed', disable: 'the endpoint answered 410 Gone' }, outcome };
  }
  return { record, decision: { kind: 'failed' }, outcome };
}

/** Whether a result says the endpoint could not be reached (feeds the circuit breaker). */
export function isUnreachable(error: string | undefined): boolean {
  return !!error && UNREACHABLE.has(error);
}
