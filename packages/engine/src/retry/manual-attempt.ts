/**
 * Attempts asked for by hand: `POST /v1/deliveries/{id}/retry`, and Bull Board's Retry and Promote
 * (single jobs through the board's hooks, which flag the job; "retry all" and "promote all" are
 * recognised by the retry worker from the record). Each is recorded in the delivery's attempt log
 * with trigger `manual`, and the delivery reads `pending` while its attempt runs.
 */
import { runsEarly } from '../delivery/delivery';
import type { DeliveryLog, DeliveryRecord } from '../stores/delivery-log';
import type { RetryJobData } from './retry-queue';

/**
 * Whether the attempt a job is about to make was asked for by hand: the job says so (API, or a
 * board action seen by its hook), its delivery had failed for good (a board retry of a failed job,
 * alone or "retry all"), or it runs well before its record's next attempt ("promote all"), unless
 * it was parked behind an open breaker, whose wake runs it early.
 */
export function isManualAttempt(data: RetryJobData, rec: DeliveryRecord, now = Date.now()): boolean {
  if (data.manual || rec.status === 'failed') return true;
  if (rec.status !== 'pending' || !rec.next_attempt_at) return false;
  // parked behind an open breaker (its last attempt turned away): early because a probe's success
  // woke it (delivery/parked.ts), not a person
  if (rec.attempt_log[rec.attempt_log.length - 1]?.error === 'circuit_open') return false;
  // a scheduled run is never early (EARLY_RUN_MS allows for clocks of two hosts)
  return runsEarly(rec, now);
}

/** The record reopened for an attempt by hand: `pending`, its next attempt now. */
export function reopened(rec: DeliveryRecord, now = Date.now()): DeliveryRecord {
  const at = new Date(now).toISOString();
  return { ...rec, status: 'pending', next_attempt_at: at, updated_at: at };
}

/** Writes the reopened record (the caller makes sure it did not already read pending). */
export async function reopenForManualAttempt(
  deliveries: DeliveryLog,
  rec: DeliveryRecord,
  now = Date.now(),
): Promise<DeliveryRecord> {
  const r = reopened(rec, now);
  await deliveries.write([r], { created: false });
  return r;
}
