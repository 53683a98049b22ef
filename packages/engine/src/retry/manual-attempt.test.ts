/** Which attempts count as asked for by hand, and the record they reopen. */
import type { DeliveryRecord } from '../stores/delivery-log';
import { EARLY_RUN_MS } from '../delivery/delivery';
import { isManualAttempt, reopened } from './manual-attempt';

const NOW = Date.parse('2026-11-30T12:00:00.000Z');
const rec = (over: Partial<DeliveryRecord>) =>
  ({ status: 'pending', next_attempt_at: null, attempt_log: [], ...over }) as DeliveryRecord;
const at = (ms: number) => new Date(NOW + ms).toISOString();

describe('isManualAttempt', () => {
  it('a job flagged by the API or the board hook', () => {
    expect(isManualAttempt({ deliveryId: 'd', manual: true }, rec({ next_attempt_at: at(0) }), NOW)).toBe(true);
  });

  it('a delivery failed for good being attempted again (Retry, or "retry all", on the board)', () => {
    expect(isManualAttempt({ deliveryId: 'd' }, rec({ status: 'failed' }), NOW)).toBe(true);
  });

  it('a job run well before its next attempt (Promote, or "promote all")', () => {
    expect(isManualAttempt({ deliveryId: 'd' }, rec({ next_attempt_at: at(60_000) }), NOW)).toBe(true);
    // on time, or early by less than the clock margin: the schedule's own attempt
    expect(isManualAttempt({ deliveryId: 'd' }, rec({ next_attempt_at: at(-5) }), NOW)).toBe(false);
    expect(isManualAttempt({ deliveryId: 'd' }, rec({ next_attempt_at: at(EARLY_RUN_MS) }), NOW)).toBe(false);
  });

  it('a delivery parked behind an open breaker, woken early by a probe that succeeded', () => {
    const turnedAway = { at: at(-1_000), status_code: null, duration_ms: 0, error: 'circuit_open' as const };
    expect(
      isManualAttempt({ deliveryId: 'd' }, rec({ next_attempt_at: at(300_000), attempt_log: [turnedAway] }), NOW),
    ).toBe(false);
  });

  it('a succeeded delivery without the flag is not attempted again', () => {
    expect(isManualAttempt({ deliveryId: 'd' }, rec({ status: 'succeeded' }), NOW)).toBe(false);
  });
});

it('reopened: pending, due now', () => {
  expect(reopened(rec({ status: 'failed', attempts: 3 }), NOW)).toMatchObject({
    status: 'pending',
    attempts: 3,
    next_attempt_at: at(0),
    updated_at: at(0),
  });
});
