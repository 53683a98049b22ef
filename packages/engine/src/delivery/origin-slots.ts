/**
 * A stream consumer's in-progress slots shared out between origins: a slow origin may hold no more
 * than `perOrigin` of the deliveries a consumer keeps in memory. Past it, a delivery to that
 * origin is handed to the retry queue (deferred, no attempt used) instead of holding a slot, so
 * receivers that hang can never fill the consumer's `maxInProgress` bound and stop it from reading
 * the events of healthy ones (docs/decisions/0005-isolation-and-liveness.md). The share binds an
 * origin not known to be fast: one with no finished attempt yet, an average attempt of
 * FAST_ORIGIN_MS or more, or an attempt in progress for SLOW_ATTEMPT_MS. A receiver known to be
 * fast that takes a large part of the traffic is not put off (that would only slow it down).
 */

import { deferred, type AttemptOutcome } from './attempt';
import type { Delivery } from './delivery';
import type { OriginLimiter } from './origin-limiter';

/** Shortest delay of a delivery put off because its origin's share was full (ms). */
export const MIN_OVERFLOW_DELAY_MS = 1_000;
/** Longest such delay (ms). */
export const MAX_OVERFLOW_DELAY_MS = 60_000;
/** An origin whose oldest attempt in progress has run this long is slow: its share applies. */
export const SLOW_ATTEMPT_MS = 1_000;
/** An origin whose attempts take this long on average (or longer) is not fast: its share applies. */
export const FAST_ORIGIN_MS = 250;
const EWMA = 0.2;
const MAX_ORIGINS_KNOWN = 50_000;

interface OriginUse {
  /** Start times of its attempts in progress, oldest first. */
  starts: number[];
  /** Moving average of its finished attempts (ms); undefined before the first. */
  avgMs?: number;
}

export class OriginSlots {
  private readonly use = new Map<string, OriginUse>();

  constructor(
    /** Where the origins' average attempt durations are learnt (the delay of a deferral). */
    private readonly origins: Pick<OriginLimiter, 'averageMs'>,
    readonly perOrigin: number,
    private readonly clock: () => number = Date.now,
  ) {}

  /**
   * Runs `attempt` holding a slot of the delivery's origin; when the share of an origin not known to
   * be fast is full, the delivery is deferred instead (no attempt used), by about one attempt's
   * duration at that origin.
   */
  run(d: Delivery, attempt: () => Promise<AttemptOutcome>): Promise<AttemptOutcome> {
    const release = this.take(d.target.origin);
    if (!release) return Promise.resolve(deferred(d, overflowDelayMs(this.origins.averageMs(d.target.origin))));
    return attempt().finally(release);
  }

  /**
   * A slot for one delivery to `origin`: its release function, or undefined when the origin's share
   * is full and it is not known to be fast.
   */
  take(origin: string): (() => void) | undefined {
    const now = this.clock();
    let u = this.use.get(origin);
    if (u && u.starts.length >= this.perOrigin && !this.fast(u, now)) return undefined;
    if (!u) this.use.set(origin, (u = { starts: [] }));
    const entry = u;
    entry.starts.push(now);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const took = this.clock() - now;
      entry.avgMs = entry.avgMs === undefined ? took : entry.avgMs + EWMA * (took - entry.avgMs);
      // attempts at one origin end about in the order they started: drop the oldest start
      entry.starts.shift();
      // what is known of an origin is kept (one small entry per origin); a bounded map at that
      if (!entry.starts.length && this.use.size > MAX_ORIGINS_KNOWN) this.use.delete(origin);
    };
  }

  private fast(u: OriginUse, now: number): boolean {
    return u.avgMs !== undefined && u.avgMs < FAST_ORIGIN_MS && now - u.starts[0] < SLOW_ATTEMPT_MS;
  }

  /** Deliveries to `origin` holding a slot now. */
  inUse(origin: string): number {
    return this.use.get(origin)?.starts.length ?? 0;
  }
}

/**
 * How long a delivery whose origin's share is full is put off: about one attempt's duration at
 * that origin (a slot frees by then), within [MIN_OVERFLOW_DELAY_MS, MAX_OVERFLOW_DELAY_MS].
 */
export function overflowDelayMs(averageAttemptMs: number): number {
  return Math.round(Math.min(MAX_OVERFLOW_DELAY_MS, Math.max(MIN_OVERFLOW_DELAY_MS, averageAttemptMs)));
}

/** The default share of one origin: an eighth of the consumer's bound, at least 8. */
export function defaultPerOrigin(maxInProgress: number): number {
  return Math.max(8, Math.ceil(maxInProgress / 8));
}
