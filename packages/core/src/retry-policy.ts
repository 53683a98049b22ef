/**
 * The retry policy of docs/contract.md §6, as pure functions.
 *
 * The schedule lists the delay before each attempt; its length is the number of attempts.
 * Default (Svix-like): 0, 5s, 5m, 30m, 2h, 5h, 10h, 10h.
 */
import { isPolicyError, type BreakerError, type SendError } from './delivery-errors';
import { parseDuration } from './durations';

export const DEFAULT_RETRY_SCHEDULE = '0,5s,5m,30m,2h,5h,10h,10h';
/** Scheduled delays vary by ±20 %. */
export const JITTER = 0.2;

export function parseRetrySchedule(text: string): number[] {
  const parts = text.split(',').map((p) => p.trim());
  if (parts.length === 0 || parts.some((p) => p === '')) {
    throw new Error(
      `retry schedule: "${text}" must be a comma-separated list of durations, e.g. ${DEFAULT_RETRY_SCHEDULE}`,
    );
  }
  if (parts.length > 50) throw new Error('retry schedule: at most 50 attempts');
  return parts.map((p, i) => parseDuration(p, `retry schedule step ${i + 1}`));
}

/** `base` ±20 %, from a uniform random number in [0, 1). */
export function withJitter(base: number, random: number = Math.random()): number {
  return Math.max(0, Math.round(base * (1 - JITTER + 2 * JITTER * random)));
}

export type Outcome = 'success' | 'retry' | 'fail' | 'fail_disable';

/** Result of one attempt: a status code, or a network-level error (no status). */
export interface AttemptResult {
  statusCode?: number;
  /** e.g. `timeout`, `connection_refused`, `blocked_address`, `circuit_open`. */
  error?: SendError | BreakerError;
}

/**
 * 2xx succeeds. Network errors, timeouts, 408, 425, 429 and 5xx other than 501 retry.
 * 410 fails and disables the webhook. Anything else (including 3xx: redirects are not followed) fails.
 * A dial refused by the address policy fails at once: retrying cannot make the address public.
 */
export function classify(r: AttemptResult): Outcome {
  const s = r.statusCode;
  if (s === undefined) return isPolicyError(r.error) ? 'fail' : 'retry';
  if (s >= 200 && s < 300) return 'success';
  if (s === 410) return 'fail_disable';
  if (s === 408 || s === 425 || s === 429) return 'retry';
  if (s >= 500 && s !== 501) return 'retry';
  return 'fail';
}

/** Parses `Retry-After` (delta-seconds or an HTTP date) to milliseconds from `now`. */
export function parseRetryAfter(value: string | string[] | undefined, now = Date.now()): number | undefined {
  const v = Array.isArray(value) ? value[0] : value;
  if (v === undefined) return undefined;
  const t = v.trim();
  if (/^\d+$/.test(t)) return Number(t) * 1000;
  const at = Date.parse(t);
  if (Number.isNaN(at) || !/[a-z]/i.test(t)) return undefined;
  return Math.max(0, at - now);
}

/**
 * Delay before the next attempt after `attemptsMade` attempts, or `undefined` when the schedule
 * is spent.
 *
 * A receiver's `Retry-After` replaces the jittered step when it is no longer than the delay of
 * the step after the next one (or, at the last step, the next one): a receiver may ask for an
 * earlier retry, or a later one up to that bound. A longer `Retry-After` is capped at the bound.
 */
export function nextDelay(
  schedule: readonly number[],
  attemptsMade: number,
  retryAfterMs?: number,
  random: number = Math.random(),
): number | undefined {
  if (attemptsMade >= schedule.length) return undefined;
  const step = schedule[attemptsMade];
  if (retryAfterMs !== undefined) {
    const bound = Math.max(step, schedule[attemptsMade + 1] ?? step);
    return Math.min(retryAfterMs, bound);
  }
  return withJitter(step, random);
}

/** How long a delivery can still be retried on schedule, at most (all remaining steps, +20 %). */
export function scheduleHorizon(schedule: readonly number[]): number {
  return Math.ceil(schedule.reduce((a, b) => a + b, 0) * (1 + JITTER));
}
