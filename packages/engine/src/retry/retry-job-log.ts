/**
 * What a retry job's Logs tab says on the dashboard: one line per attempt (`attempt 2/8: http_503
 * in 12 ms; next in 5m 3s`), the Retry-After a receiver asked for, an attempt put off without using
 * one, and retries asked for by hand. Never secrets, header values or bodies: only the error code,
 * the status, durations and delays.
 */
import type { DeliveryRecord } from '../stores/delivery-log';
import type { Decision } from '../delivery/attempt';

/** What an attempt came to, as the log lines need it (an AttemptOutcome, or a RetryJob's record and decision). */
export interface AttemptSummary {
  record: DeliveryRecord;
  decision: Decision;
}

export interface AttemptLineOptions {
  /** Attempts the schedule allows (`attempt 2/8`). */
  attemptsTotal: number;
  /** Asked for by hand (API or dashboard): `attempt 4 (manual)`. */
  manual?: boolean;
}

const UNITS: Array<[string, number]> = [
  ['d', 86_400_000],
  ['h', 3_600_000],
  ['m', 60_000],
  ['s', 1_000],
];

/** A wait as people read it: `350 ms`, `45s`, `5m 3s`, `2h 10m`, `1d 4h` (two units at most). */
export function formatWait(ms: number): string {
  const total = Math.max(0, Math.round(ms));
  if (total < 1_000) return `${total} ms`;
  const parts: string[] = [];
  let rest = total;
  for (const [unit, size] of UNITS) {
    const n = Math.floor(rest / size);
    rest -= n * size;
    if (n > 0 || parts.length) parts.push(`${n}${unit}`);
    if (parts.length === 2) break;
  }
  return parts.filter((p) => !/^0/.test(p)).join(' ');
}

/** `attempt 2/8`, or `attempt 4 (manual)` for one asked for by hand (it may go past the schedule). */
function attemptLabel(r: DeliveryRecord, o: AttemptLineOptions): string {
  return o.manual ? `attempt ${r.attempts} (manual)` : `attempt ${r.attempts}/${o.attemptsTotal}`;
}

/** The log lines of one attempt (or of a delivery put off without one). */
export function attemptLines(a: AttemptSummary, o: AttemptLineOptions): string[] {
  const { record: r, decision } = a;
  if (decision.kind === 'retry' && !decision.consumed) {
    return [
      `no attempt made (put off on our side: receiver busy or not due yet); next in ${formatWait(decision.delayMs)}`,
    ];
  }
  const last = r.attempt_log[r.attempt_log.length - 1];
  const took = last ? ` in ${last.duration_ms} ms` : '';
  const label = attemptLabel(r, o);
  if (decision.kind === 'succeeded') return [`${label}: succeeded (${r.status_code ?? 'no status'})${took}`];
  const what = `${label}: ${r.error ?? `http_${r.status_code}`}${took}`;
  if (decision.kind === 'retry') {
    const lines = [`${what}; next in ${formatWait(decision.delayMs)}`];
    if (decision.retryAfterMs !== undefined) lines.push(retryAfterLine(decision.retryAfterMs, decision.delayMs));
    return lines;
  }
  if (decision.disable) return [`${what}; failed for good, webhook disabled (${decision.disable})`];
  const why = r.attempts >= o.attemptsTotal ? 'schedule exhausted' : 'not retryable';
  return [`${what}; failed for good (${why}): retry by hand to try again`];
}

function retryAfterLine(askedMs: number, delayMs: number): string {
  const asked = Math.round(askedMs / 1000);
  if (askedMs > delayMs)
    return `Retry-After ${asked} s capped at ${Math.round(delayMs / 1000)} s (the schedule's bound)`;
  return `Retry-After honoured: ${asked} s`;
}

/** A delivery that ended without an attempt of its own (webhook deleted or disabled, events expired). */
export function endedWithoutLine(error: string | null): string {
  return `not attempted: ${error ?? 'failed'}; failed for good`;
}

/** A retry asked for by hand, before it runs. */
export function retryRequestedLine(via: 'API' | 'dashboard' | 'recover', how: string): string {
  if (via === 'recover') return `recover requested (API): ${how}, one more attempt now`;
  return `retry by hand requested (${via}): ${how}, one more attempt now`;
}
