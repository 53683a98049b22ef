/**
 * A stream consumer's in-progress slots shared out between origins: a slow origin may hold no more
 * than `perOrigin` of the deliveries a consumer keeps in memory. Past it, a delivery to an origin
 * not yet known to be slow waits in memory for a slot, at most `waitMs` (a fresh origin's first
 * burst goes out as soon as its first answers show it fast, instead of through the retry queue);
 * when the wait runs out, or at once for an origin known to be slow, it is handed to the retry
 * queue (deferred, no attempt used) instead of holding a slot, so receivers that hang can never
 * fill the consumer's `maxInProgress` bound and stop it from reading the events of healthy ones
 * (docs/decisions/0005-isolation-and-liveness.md). The share binds an origin not known to be
 * fast: one with no answer yet, answers averaging FAST_ORIGIN_MS or more, or an attempt in
 * progress for SLOW_ATTEMPT_MS while the origin has answered nothing for as long — or SLOW_FACTOR ×
 * the process's typical successful answer, when that is longer (the whole process slowed down is
 * no receiver's fault). Speed is learnt from the receiver's answer times, not from how
 * long slots are held (that includes this process's own per-origin connection queue). A receiver
 * known to be fast that takes a large part of the traffic is not put off (that would only slow it
 * down).
 */

import { deferred, type AttemptOutcome } from './attempt';
import type { Delivery } from './delivery';
import type { OriginLimiter } from './origin-limiter';

/** Longest wait in memory for a slot of the delivery's origin before it is deferred (ms). */
export const SLOT_WAIT_MS = 1_000;
/** Shortest delay of a delivery put off because its origin's share was full (ms). */
export const MIN_OVERFLOW_DELAY_MS = 1_000;
/** Longest such delay (ms). */
export const MAX_OVERFLOW_DELAY_MS = 60_000;
/** An origin whose oldest attempt in progress has run this long is slow: its share applies. */
export const SLOW_ATTEMPT_MS = 1_000;
/** An origin whose attempts take this long on average (or longer) is not fast: its share applies. */
export const FAST_ORIGIN_MS = 250;
const EWMA = 0.2;
/** Weight of one successful answer in the process's typical answer time. */
const TYPICAL_EWMA = 0.01;
/** An origin is slow past this many times the process's typical successful answer (if that is more). */
export const SLOW_FACTOR = 4;
const MAX_ORIGINS_KNOWN = 50_000;

interface OriginUse {
  /** Start times of its attempts in progress, oldest first. */
  starts: number[];
  /** Moving average of its finished attempts (ms); undefined before the first. */
  avgMs?: number;
  /** When it last answered (an attempt ended with something learnt); undefined before the first. */
  answeredAt?: number;
}

/**
 * Frees a slot. `sampleMs`: how long the receiver took to answer (undefined: the time the slot was
 * held; null: nothing learnt, e.g. no request was sent).
 */
type Release = (sampleMs?: number | null) => void;

/** How long the receiver took to answer this attempt; null when no request went out. */
function answerMs(out: AttemptOutcome): number | null {
  if (out.outcome === 'deferred') return null;
  const last = out.record.attempt_log[out.record.attempt_log.length - 1];
  if (!last || last.error === 'circuit_open') return null;
  return last.duration_ms;
}

interface Waiter {
  attempt: () => Promise<AttemptOutcome>;
  settle: (outcome: Promise<AttemptOutcome>) => void;
  timer: NodeJS.Timeout;
}

export interface OriginSlotsOptions {
  /** Slots one origin not known to be fast may hold. */
  perOrigin: number;
  /** Longest wait for a slot before a deferral (default SLOT_WAIT_MS). */
  waitMs?: number;
  clock?: () => number;
}

export class OriginSlots {
  private readonly use = new Map<string, OriginUse>();
  /** Deliveries waiting for a slot, per origin, oldest first. */
  private readonly waiting = new Map<string, Waiter[]>();
  /** Moving average of successful answers, every origin together (ms). */
  private typicalMs: number | undefined;
  readonly perOrigin: number;
  private readonly waitMs: number;
  private readonly clock: () => number;

  constructor(
    /** Where the origins' average attempt durations are learnt (the delay of a deferral). */
    private readonly origins: Pick<OriginLimiter, 'averageMs' | 'expectedWaitMs'> &
      Partial<Pick<OriginLimiter, 'isOpen'>>,
    o: OriginSlotsOptions,
  ) {
    this.perOrigin = o.perOrigin;
    this.waitMs = o.waitMs ?? SLOT_WAIT_MS;
    this.clock = o.clock ?? Date.now;
  }

  /**
   * Runs `attempt` holding a slot of the delivery's origin. When the share of an origin not known
   * to be fast is full, the delivery waits for a slot (at most `waitMs`, and only if the origin is
   * not known to be slow); past that it is deferred instead (no attempt used), by about one
   * attempt's duration at that origin.
   */
  run(d: Delivery, attempt: () => Promise<AttemptOutcome>): Promise<AttemptOutcome> {
    const origin = d.target.origin;
    // its breaker open: the attempt is turned away at once (and parked), holding a slot for no time;
    // deferred instead, it would only come back through the retry queue to be turned away then
    const release =
      this.take(origin) ?? (this.origins.isOpen?.(origin) ? this.take(origin, { beyondShare: true }) : undefined);
    if (release) return this.holding(release, attempt);
    const defer = () => deferred(d, overflowDelayMs(this.origins.averageMs(origin)));
    const queue = this.waiting.get(origin) ?? [];
    // an origin known to be slow gets no wait: it would only hold more of the consumer's slots (the
    // others wait at most `waitMs`, within the consumer's own in-progress bound); one whose answers
    // are not fast (it hangs: no average before its first timeout) is put off by how long its
    // oldest attempt has run, so what is put off does not come back every second
    if (this.knownSlow(origin))
      return Promise.resolve(this.answersFast(origin) ? defer() : deferred(d, this.deferralMs(origin)));
    this.waiting.set(origin, queue);
    return new Promise<AttemptOutcome>((resolve) => {
      const w: Waiter = {
        attempt,
        settle: resolve,
        timer: setTimeout(() => {
          const at = queue.indexOf(w);
          if (at >= 0) queue.splice(at, 1);
          if (!queue.length && this.waiting.get(origin) === queue) this.waiting.delete(origin);
          resolve(defer());
        }, this.waitMs),
      };
      queue.push(w);
    });
  }

  /**
   * Runs an attempt holding a slot, and learns the origin's speed from how long the receiver took
   * to answer — not from how long the slot was held, which includes waiting in this process's own
   * per-origin connection queue (a busy fast receiver is not a slow one).
   */
  holding(release: Release, attempt: () => Promise<AttemptOutcome>): Promise<AttemptOutcome> {
    return attempt().then(
      (out) => {
        const ms = answerMs(out);
        release(ms);
        // the typical successful answer, whatever the origin: how fast this process sees healthy receivers
        if (ms !== null && out.outcome === 'success') {
          this.typicalMs = this.typicalMs === undefined ? ms : this.typicalMs + TYPICAL_EWMA * (ms - this.typicalMs);
        }
        return out;
      },
      (err: unknown) => {
        release(null);
        throw err;
      },
    );
  }

  /** Deliveries waiting for a slot of `origin`. */
  waitingFor(origin: string): number {
    return this.waiting.get(origin)?.length ?? 0;
  }

  /** A slot of `origin` freed (or the origin proved fast): starts the waiting deliveries it now admits. */
  private wake(origin: string): void {
    const queue = this.waiting.get(origin);
    if (!queue) return;
    while (queue.length) {
      const release = this.take(origin);
      if (!release) break;
      const w = queue.shift()!;
      clearTimeout(w.timer);
      w.settle(this.holding(release, w.attempt));
    }
    if (!queue.length) this.waiting.delete(origin);
  }

  /**
   * A slot for one delivery to `origin`: its release function, or undefined when the origin's share
   * is full and it is not known to be fast (`beyondShare`: a slot all the same, counted).
   */
  take(origin: string, o: { beyondShare?: boolean } = {}): Release | undefined {
    const now = this.clock();
    let u = this.use.get(origin);
    if (!o.beyondShare && u && u.starts.length >= this.perOrigin && !this.fast(origin, u, now)) return undefined;
    if (!u) this.use.set(origin, (u = { starts: [] }));
    const entry = u;
    entry.starts.push(now);
    let released = false;
    return (sampleMs) => {
      if (released) return;
      released = true;
      const took = sampleMs === undefined ? this.clock() - now : sampleMs;
      if (took !== null) {
        entry.avgMs = entry.avgMs === undefined ? took : entry.avgMs + EWMA * (took - entry.avgMs);
        entry.answeredAt = this.clock();
      }
      // attempts at one origin end about in the order they started: drop the oldest start
      entry.starts.shift();
      // what is known of an origin is kept (one small entry per origin); a bounded map at that
      if (!entry.starts.length && this.use.size > MAX_ORIGINS_KNOWN) this.use.delete(origin);
      this.wake(origin);
    };
  }

  /**
   * The bounds past which an origin is slow: FAST_ORIGIN_MS and SLOW_ATTEMPT_MS, or SLOW_FACTOR ×
   * the typical successful answer of this process, if higher. When the whole process is slow (its
   * own CPU spent, Redis busy), every receiver answers slowly: none of them is to blame, and
   * putting them all off through the retry queue would only add to the load (it once sent 10,000
   * of 20,000 deliveries of a two-worker cluster run there).
   */
  private bounds(origin: string): { avgMs: number; runningMs: number } {
    const typical = this.typicalMs === undefined ? 0 : SLOW_FACTOR * this.typicalMs;
    return {
      avgMs: Math.max(FAST_ORIGIN_MS, typical),
      // an attempt runs from when it took its slot: its wait in this process's own connection queue
      // for the origin (OriginLimiter) is ours, not the receiver's
      runningMs: Math.max(SLOW_ATTEMPT_MS, typical) + this.origins.expectedWaitMs(origin),
    };
  }

  /** Slow by what is known: answers averaging past the bound, or an attempt running past it. */
  knownSlow(origin: string): boolean {
    const u = this.use.get(origin);
    if (!u) return false;
    const b = this.bounds(origin);
    return this.runningLong(u, this.clock(), b) || (u.avgMs !== undefined && u.avgMs >= b.avgMs);
  }

  /** Its answers so far average fast (running attempts aside). */
  answersFast(origin: string): boolean {
    const u = this.use.get(origin);
    return u?.avgMs !== undefined && u.avgMs < this.bounds(origin).avgMs;
  }

  private fast(origin: string, u: OriginUse, now: number): boolean {
    const b = this.bounds(origin);
    return u.avgMs !== undefined && u.avgMs < b.avgMs && !this.runningLong(u, now, b);
  }

  /**
   * Its oldest attempt in progress has run past the bound and nothing has come back from the origin
   * for as long: it hangs. One that is still answering does not, whatever one straggler of its
   * attempts does (a busy receiver's attempts that waited out a stall of this process's own event
   * loop once had every delivery to it put off, tens of thousands of them: docs/performance.md).
   */
  private runningLong(u: OriginUse, now: number, b: { runningMs: number }): boolean {
    if (!u.starts.length) return false;
    const quietSince = Math.max(u.starts[0], u.answeredAt ?? -Infinity);
    return now - quietSince >= b.runningMs;
  }

  /**
   * How long a delivery to `origin` whose share is full is put off: about one attempt there (a slot
   * frees by then), where one attempt is its average or, when longer, how long its oldest attempt in
   * progress has run so far (a receiver that hangs has no average before its first timeout; what
   * is put off then comes back later and later, not every second).
   */
  deferralMs(origin: string): number {
    return overflowDelayMs(Math.max(this.origins.averageMs(origin), this.oldestMs(origin)));
  }

  /** How long the oldest attempt at `origin` holding a slot has run (ms); 0 when none. */
  oldestMs(origin: string): number {
    const u = this.use.get(origin);
    return u?.starts.length ? this.clock() - u.starts[0] : 0;
  }

  /** Deliveries to `origin` holding a slot now. */
  inUse(origin: string): number {
    return this.use.get(origin)?.starts.length ?? 0;
  }
}

/**
 * How long a delivery whose origin's share is full is put off: about one attempt's duration at
 * that origin (a slot frees by then), spread ±50 % at random, within [MIN_OVERFLOW_DELAY_MS,
 * MAX_OVERFLOW_DELAY_MS]. The spread matters: deferred together, the deliveries to a hanging
 * origin would all come back at once, in step with its attempts timing out, and those waves
 * raised a healthy webhook's p99 several times over (docs/performance.md).
 */
export function overflowDelayMs(averageAttemptMs: number, random: () => number = Math.random): number {
  const spread = averageAttemptMs * (0.5 + random());
  return Math.round(Math.min(MAX_OVERFLOW_DELAY_MS, Math.max(MIN_OVERFLOW_DELAY_MS, spread)));
}

/** The default share of one origin: an eighth of the consumer's bound, at least 8. */
export function defaultPerOrigin(maxInProgress: number): number {
  return Math.max(8, Math.ceil(maxInProgress / 8));
}
