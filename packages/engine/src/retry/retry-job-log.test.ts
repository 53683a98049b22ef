/** The retry job's Logs tab: one readable line per attempt, never a header value or a body. */
import type { Decision } from '../delivery/attempt';
import type { DeliveryRecord } from '../stores/delivery-log';
import { attemptLines, endedWithoutLine, formatWait, retryRequestedLine } from './retry-job-log';

function record(over: Partial<DeliveryRecord> = {}): DeliveryRecord {
  return {
    id: 'dlv_1',
    org_id: 'org_1',
    webhook_id: 'wh_1',
    event_ids: ['e1'],
    entry_ids: ['1-0'],
    topic: 'deviceauth',
    message_id: 'e1',
    url: 'https://rx.example/hook',
    status: 'pending',
    attempts: 2,
    status_code: 503,
    error: 'http_503',
    created_at: '2026-11-30T10:00:00.000Z',
    updated_at: '2026-11-30T10:00:05.000Z',
    next_attempt_at: '2026-11-30T10:05:08.000Z',
    attempt_log: [
      { at: '2026-11-30T10:00:00.000Z', status_code: 503, duration_ms: 9, error: 'http_503' },
      { at: '2026-11-30T10:00:05.000Z', status_code: 503, duration_ms: 12, error: 'http_503' },
    ],
    ...over,
  };
}

const lines = (decision: Decision, over: Partial<DeliveryRecord> = {}, manual = false) =>
  attemptLines({ record: record(over), decision }, { attemptsTotal: 8, manual });

describe('formatWait', () => {
  it.each([
    [0, '0 ms'],
    [350, '350 ms'],
    [1_000, '1s'],
    [45_000, '45s'],
    [303_000, '5m 3s'],
    [300_000, '5m'],
    [7_800_000, '2h 10m'],
    [3_605_000, '1h'],
    [100_800_000, '1d 4h'],
  ])('%i ms → %s', (ms, text) => expect(formatWait(ms)).toBe(text));
});

describe('attemptLines', () => {
  it('a failed attempt with its next one', () => {
    expect(lines({ kind: 'retry', delayMs: 303_000, consumed: true })).toEqual([
      'attempt 2/8: http_503 in 12 ms; next in 5m 3s',
    ]);
  });

  it('the Retry-After a receiver asked for, honoured or capped', () => {
    expect(lines({ kind: 'retry', delayMs: 120_000, consumed: true, retryAfterMs: 120_000 })).toEqual([
      'attempt 2/8: http_503 in 12 ms; next in 2m',
      'Retry-After honoured: 120 s',
    ]);
    expect(lines({ kind: 'retry', delayMs: 1_800_000, consumed: true, retryAfterMs: 36_000_000 })[1]).toBe(
      "Retry-After 36000 s capped at 1800 s (the schedule's bound)",
    );
  });

  it('a success, a manual attempt, and attempts that end the delivery', () => {
    const okRecord = {
      status: 'succeeded' as const,
      status_code: 204,
      error: null,
      attempts: 3,
      attempt_log: [{ at: '2026-11-30T10:05:08.000Z', status_code: 204, duration_ms: 8, error: null }],
    };
    expect(lines({ kind: 'succeeded' }, okRecord)).toEqual(['attempt 3/8: succeeded (204) in 8 ms']);
    expect(lines({ kind: 'succeeded' }, { ...okRecord, attempts: 9 }, true)).toEqual([
      'attempt 9 (manual): succeeded (204) in 8 ms',
    ]);
    expect(lines({ kind: 'failed' }, { attempts: 8 })).toEqual([
      'attempt 8/8: http_503 in 12 ms; failed for good (schedule exhausted): retry by hand to try again',
    ]);
    expect(lines({ kind: 'failed' }, { error: 'http_400', status_code: 400 })[0]).toMatch(
      /^attempt 2\/8: http_400 in 12 ms; failed for good \(not retryable\)/,
    );
    expect(lines({ kind: 'failed', disable: 'the endpoint answered 410 Gone' })[0]).toMatch(
      /failed for good, webhook disabled \(the endpoint answered 410 Gone\)$/,
    );
  });

  it('a delivery put off on our side uses no attempt', () => {
    expect(lines({ kind: 'retry', delayMs: 5_000, consumed: false })).toEqual([
      'no attempt made (put off on our side: receiver busy or not due yet); next in 5s',
    ]);
  });

  it('other lines', () => {
    expect(endedWithoutLine('webhook_deleted')).toBe('not attempted: webhook_deleted; failed for good');
    expect(retryRequestedLine('API', 'queued')).toBe('retry by hand requested (API): queued, one more attempt now');
  });
});
