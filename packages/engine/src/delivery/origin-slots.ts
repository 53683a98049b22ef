/**
 * A stream consumer's in-progress slots shared out between origins: no origin may hold more than
 * `perOrigin` of the deliveries a consumer keeps in memory. Past it, a delivery to that origin is
 * handed to the retry queue (deferred, no attempt used) instead of holding a slot, so receivers
 * that hang can never fill the consumer's `maxInProgress` bound and stop it from reading the
 * events of healthy ones (docs/decisions/0005-isolation-and-liveness.md).
 */

import { deferred, type AttemptOutcome } from './attempt';
import type { Delivery } from './delivery';
import type { OriginLimiter } from './origin-limiter';

/** Shortest delay of a delivery put off because its origin's share was full (ms). */
export const MIN_OVERFLOW_DELAY_MS = 1_000;
/** Longest such delay (ms). */
export const MAX_OVERFLOW_DELAY_MS = 60_000;

export class OriginSlots {
  private readonly held = new Map<string, number>();

  constructor(
    /** Where the origins' average attempt durations are learnt (the delay of a deferral). */
    private readonly origins: Pick<OriginLimiter, 'averageMs'>,
    readonly perOrigin: number,
  ) {}

  /**
   * Runs `attempt` holding a slot of the delivery's origin; when the origin's share is full, the
   * delivery is deferred instead (no attempt used), by about one attempt's duration at that origin.
   */
  run(d: Delivery, attempt: () => Promise<AttemptOutcome>): Promise<AttemptOutcome> {
    const release = this.take(d.target.origin);
    if (!release) return Promise.resolve(deferred(d, overflowDelayMs(this.origins.averageMs(d.target.origin))));
    return attempt().finally(release);
  }

  /** A slot for one delivery to `origin`: its release function, or undefined when the origin's share is full. */
  take(origin: string): (() => void) | undefined {
    const n = this.held.get(origin) ?? 0;
    if (n >= this.perOrigin) return undefined;
    this.held.set(origin, n + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = (this.held.get(origin) ?? 1) - 1;
      if (left <= 0) this.held.delete(origin);
      else this.held.set(origin, left);
    };
  }

  /** Deliveries to `origin` holding a slot now. */
  inUse(origin: string): number {
    return this.held.get(origin) ?? 0;
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
