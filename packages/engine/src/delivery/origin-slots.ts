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
 * progress for SLOW_ATTEMPT_MS — or SLOW_FACTOR × the process's typical successful answer, when
 * that is longer (the whole process slowed down is no receiver's fault). Speed is learnt from the receiver's answer times, not from how
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
/** After an origin's last park, its answers wake parked deliveries for this long (ms)... */
const PARKED_WAKE_WINDOW_MS = 30_000;
/** ...at most this often (ms). */
const WAKE_SAY_EVERY_MS = 500;

interface OriginUse {
  /** Start times of its attempts in progress, oldest first. */
  starts: number[];
  /** Moving average of its finished attempts (ms); undefined before the first. */
  avgMs?: number;
  /** When it last answered an attempt (any status; ms). */
  answeredAt?: number;
}

/**
 * Frees a slot. `sampleMs`: how long the receiver took to answer (undefined: the time the slot was
 * held; null: nothing learnt, e.g. no request was sent).
 */
type Release = (sampleMs?: number | null) => void;

/** Whether the receiver answered this attempt (any status), rather than not at all. */
function answered(out: AttemptOutcome): boolean {
  if (out.outcome === 'deferred') return false;
  const last = out.record.attempt_log[out.record.attempt_log.length - 1];
  return !!last && last.status_code !== null;
}

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
  /**
   * How long one request may take (the sender's timeout): an origin whose oldest attempt hangs frees
   * no slot before then, which is how long its deliveries past the share are put off.
   */
  attemptTimeoutMs?: number;
  clock?: () => number;
  random?: () => number;
}

export class OriginSlots {
  private readonly use = new Map<string, OriginUse>();
  /** Deliveries waiting for a slot, per origin, oldest first. */
  private readonly waiting = new Map<string, Waiter[]>();
  /** Moving average of successful answers, every origin together (ms). */
  private typicalMs: number | undefined;
  /**
   * Origins that hung, with deliveries parked here past their share → when the last was parked and
   * when this process last said it answered (ms).
   */
  private readonly parkedFor = new Map<string, { parkedAt: number; saidAt: number }>();
  /**
   * Called when an origin this process parked deliveries for (it hung) answers an attempt: the
   * parked ones can run now (ParkedWaker.wake). A breaker that closes wakes them too.
   */
  onParkedFree?: (origin: string) => void;
  readonly perOrigin: number;
  private readonly waitMs: number;
  private readonly attemptTimeoutMs: number | undefined;
  private readonly clock: () => number;
  private readonly random: () => number;

  constructor(
    /** Where the origins' average attempt durations are learnt (the delay of a deferral). */
    private readonly origins: Pick<OriginLimiter, 'averageMs' | 'expectedWaitMs'> &
      Partial<Pick<OriginLimiter, 'isOpen' | 'parkedDelayMs'>>,
    o: OriginSlotsOptions,
  ) {
    this.perOrigin = o.perOrigin;
    this.waitMs = o.waitMs ?? SLOT_WAIT_MS;
    this.attemptTimeoutMs = o.attemptTimeoutMs;
    this.clock = o.clock ?? Date.now;
    this.random = o.random ?? Math.random;
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
    if (release) return this.holding(origin, release, attempt);
    const defer = () => deferred(d, overflowDelayMs(this.origins.averageMs(origin)));
    const queue = this.waiting.get(origin) ?? [];
    // an origin known to be slow gets no wait: it would only hold more of the consumer's slots (the
    // others wait at most `waitMs`, within the consumer's own in-progress bound). It is put off by
    // how long its oldest attempt has run, when longer than its average: a receiver that hangs has
    // no average before its first timeout, and put off by the 1 s floor its deliveries came back
    // through the retry queue every second or two until its breaker opened (issue 13, defect 5)
    if (this.knownSlow(origin)) return Promise.resolve(this.putOff(d));
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
  holding(origin: string, release: Release, attempt: () => Promise<AttemptOutcome>): Promise<AttemptOutcome> {
    return attempt().then(
      (out) => {
        const ms = answerMs(out);
        release(ms);
        if (answered(out)) {
          const u = this.use.get(origin);
          if (u) u.answeredAt = this.clock();
          // what was parked here while it hung can run (at once if its share is free, else put
          // off again by how long it now takes)
          if (this.parkedFor.size) this.answeredAfterPark(origin);
        }
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
      w.settle(this.holding(origin, release, w.attempt));
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
      if (took !== null) entry.avgMs = entry.avgMs === undefined ? took : entry.avgMs + EWMA * (took - entry.avgMs);
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
    const running = u.starts.length > 0 && this.clock() - u.starts[0] >= b.runningMs;
    return running || (u.avgMs !== undefined && u.avgMs >= b.avgMs);
  }

  /** Its answers so far average fast (running attempts aside). */
  answersFast(origin: string): boolean {
    const u = this.use.get(origin);
    return u?.avgMs !== undefined && u.avgMs < this.bounds(origin).avgMs;
  }

  private fast(origin: string, u: OriginUse, now: number): boolean {
    const b = this.bounds(origin);
    return u.avgMs !== undefined && u.avgMs < b.avgMs && now - u.starts[0] < b.runningMs;
  }

  /**
   * How long a delivery to `origin` whose share is full is put off: about one attempt there (a slot
   * frees by then), where one attempt is its average or, when longer, how long its oldest attempt in
   * progress has run so far (a receiver that hangs has no average before its first timeout; what
   * is put off then comes back later and later, not every second).
   *
   * An origin that hangs (its oldest attempt has run SLOW_ATTEMPT_MS and SLOW_FACTOR × its answers
   * so far, or it has none yet) frees no slot before that attempt times out: what is put off comes
   * back after then, spread over one timeout more (as the attempts holding its share time out one
   * after the other), when its breaker has opened (it is parked) or its attempts have answered (it
   * runs), instead of coming back once or twice before (issue 13, defect 5: a job pass, a record
   * write and a job move each). Spread over less, they came back in one wave as the breaker opened.
   */
  deferralMs(origin: string): number {
    const oldest = this.oldestMs(origin);
    if (this.attemptTimeoutMs !== undefined && this.hangs(origin)) {
      const left = this.attemptTimeoutMs - oldest + this.random() * this.attemptTimeoutMs;
      return Math.round(Math.min(MAX_OVERFLOW_DELAY_MS, Math.max(MIN_OVERFLOW_DELAY_MS, left)));
    }
    return overflowDelayMs(Math.max(this.origins.averageMs(origin), oldest), this.random);
  }

  /**
   * The origin hangs: its oldest attempt in progress has run past the bound of a slow one
   * (SLOW_ATTEMPT_MS, or more when the whole process is slow) and SLOW_FACTOR × its answers so far
   * (or it has none), it has not answered any attempt for that long either, and that attempt has
   * not yet reached the request timeout. A receiver that keeps answering does not hang, however
   * long one attempt takes: in a drain that starves this process of CPU, attempts to a fast
   * receiver run long while its answers keep coming (parked, its deliveries would only be woken
   * again at the next answer, through the retry queue).
   */
  hangs(origin: string): boolean {
    // no answer seen at all yet (a fresh process): a receiver that hangs cannot be told from this
    // process being too slow to read its answers (a new worker taking over a dead one's backlog)
    if (this.typicalMs === undefined) return false;
    const oldest = this.oldestMs(origin);
    const bound = this.bounds(origin).runningMs - this.origins.expectedWaitMs(origin);
    if (oldest === 0 || oldest < bound) return false;
    const u = this.use.get(origin);
    if (u?.avgMs !== undefined && oldest < SLOW_FACTOR * u.avgMs) return false;
    if (u?.answeredAt !== undefined && this.clock() - u.answeredAt < bound) return false;
    return this.attemptTimeoutMs === undefined || oldest < this.attemptTimeoutMs;
  }

  /**
   * A delivery past the share of an origin known to be slow, not attempted (no attempt used). When
   * the origin hangs it is parked (delivery/parked.ts): its job waits 30–60 s at most, and runs as
   * soon as the origin answers one of this process's attempts (the
   * origin was only slow) or a probe closes its breaker (the attempts holding its share timed out
   * and opened it). Else it is put off by about one attempt there (deferralMs).
   */
  putOff(d: Delivery): AttemptOutcome {
    const parkMs = this.parkingMs(d.target.origin);
    if (parkMs !== undefined) return { ...deferred(d, parkMs), parked: true };
    return deferred(d, this.deferralMs(d.target.origin));
  }

  /**
   * When `origin` hangs and parking is wired (onParkedFree): how long a delivery put off past its
   * share is parked at most (30–60 s), noting that this process parked for it; else undefined (put
   * off by deferralMs).
   */
  parkingMs(origin: string): number | undefined {
    if (!this.onParkedFree || !this.origins.parkedDelayMs || !this.hangs(origin)) return undefined;
    const now = this.clock();
    const saidAt = this.parkedFor.get(origin)?.saidAt ?? 0;
    this.parkedFor.delete(origin); // re-inserted: the map stays in order of the last park
    // bounded: the origin parked for longest ago is forgotten (its deliveries run when its breaker
    // closes, or at their own time)
    if (this.parkedFor.size >= MAX_ORIGINS_KNOWN) this.parkedFor.delete(this.parkedFor.keys().next().value!);
    this.parkedFor.set(origin, { parkedAt: now, saidAt });
    // at most 30–60 s, not the breaker's 5 min: should every wake be missed (this process's own
    // attempts to the origin all cut short by its stalls, say), it is back within a minute
    return Math.min(this.origins.parkedDelayMs(), Math.round(MAX_OVERFLOW_DELAY_MS * (0.5 + 0.5 * this.random())));
  }

  /**
   * `origin` answered an attempt after this process parked deliveries for it: says so (onParkedFree)
   * at most every WAKE_SAY_EVERY_MS, for PARKED_WAKE_WINDOW_MS after the last park. Not once: a
   * park is in Redis only when its commit is, which on a starved process can come seconds after
   * the answer that would wake it (a wake then finds nothing, and the delivery waited its whole
   * fallback time: a SIGKILL test's new worker left 664 of 10,000 that way).
   */
  private answeredAfterPark(origin: string): void {
    const p = this.parkedFor.get(origin);
    if (!p) return;
    const now = this.clock();
    if (now - p.saidAt >= WAKE_SAY_EVERY_MS) {
      p.saidAt = now;
      this.onParkedFree?.(origin);
    }
    if (now - p.parkedAt > PARKED_WAKE_WINDOW_MS) this.parkedFor.delete(origin);
  }

  /**
   * Deliveries parked past `origin`'s share were committed: if it no longer hangs (it answered in
   * the meantime) and its breaker is not open, says so now (onParkedFree), since the wake its
   * answer made may have come before they were in Redis, and no answer may follow.
   */
  parksCommitted(origin: string): void {
    if (this.hangs(origin) || this.origins.isOpen?.(origin)) return;
    this.onParkedFree?.(origin);
  }

  /** Whether this process parked deliveries of `origin` past its share and no answer came since. */
  parkedHere(origin: string): boolean {
    return this.parkedFor.has(origin);
  }

  /**
   * How long the oldest attempt at `origin` holding a slot has run (ms), leaving out the expected
   * wait in this process's own connection queue for it (ours, not the receiver's); 0 when none.
   */
  oldestMs(origin: string): number {
    const u = this.use.get(origin);
    return u?.starts.length ? Math.max(0, this.clock() - u.starts[0] - this.origins.expectedWaitMs(origin)) : 0;
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
