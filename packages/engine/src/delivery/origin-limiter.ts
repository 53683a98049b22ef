/**
 * Isolation between receivers: a bounded number of requests in flight per origin, a queue behind
 * them bounded by how long a newcomer would wait, and a circuit breaker that stops attempts to an
 * origin that keeps timing out or refusing connections. One bad receiver never holds the slots,
 * or the worker's memory, that the others need; a fast receiver is never throttled by it.
 */

export interface OriginLimiterOptions {
  /** Requests in flight per origin. */
  concurrency: number;
  /**
   * Longest expected wait for a slot. A delivery that would wait longer (judged from the origin's
   * recent attempt durations) goes to the retry path instead, without using up an attempt.
   */
  maxWaitMs: number;
  /** Consecutive timeouts / connection failures that open the breaker. */
  breakerThreshold: number;
  /** First open period; doubles on each failed probe up to `breakerMaxCooldownMs`. */
  breakerCooldownMs: number;
  breakerMaxCooldownMs: number;
}

export const DEFAULT_ORIGIN_LIMITER_OPTIONS: OriginLimiterOptions = {
  concurrency: 64,
  maxWaitMs: 5_000,
  breakerThreshold: 5,
  breakerCooldownMs: 10_000,
  breakerMaxCooldownMs: 300_000,
};

/** Assumed attempt duration of an origin not yet seen (ms). */
const INITIAL_DURATION_MS = 20;
/** Weight of the newest sample in the moving average of attempt durations. */
const EWMA = 0.1;

interface Endpoint {
  active: number;
  /** Waiters from `head` on (a queue without O(n) shifts). */
  queue: Array<(go: boolean) => void>;
  head: number;
  /** Moving average of attempt durations (ms). */
  avgMs: number;
  failures: number;
  openUntil: number;
  cooldown: number;
  probing: boolean;
  /** The open period (its `openUntil`) for which a scout was named (`scout`). */
  scoutFor: number;
  /** Whether this process has had an answer from the origin yet. */
  answered: boolean;
}

/** One origin's circuit breaker, as a worker publishes it. */
export interface BreakerState {
  origin: string;
  /** `open`: attempts fail at once; `half_open`: a probe may go (or is in flight); `closed`: counting failures. */
  state: 'open' | 'half_open' | 'closed';
  consecutive_failures: number;
  /** Until when (ms) it stays open; null when closed. */
  open_until: number | null;
}

/**
 * How a request that held a slot ended, for the average and the breaker: the receiver `answered`
 * (any status), was `unreachable` (timeout, refused, reset…), or our own process `stalled` past
 * the deadline (says nothing about the receiver: neither counted nor averaged).
 */
export type SlotEnd = 'answered' | 'unreachable' | 'stalled';

/** What else a slot's end tells (Slot.release). */
export interface SlotEndNote {
  /**
   * The delivery's previous attempt was turned away by a breaker (`circuit_open`), this process's or
   * another's: an answer now means the deliveries parked behind that breaker may run.
   */
  afterRefusal?: boolean;
}

export type Admission =
  | { readonly ok: true; release(durationMs: number, end: SlotEnd, note?: SlotEndNote): void }
  | {
      ok: false;
      reason: 'circuit_open' | 'overloaded';
      retryInMs: number;
      /** circuit_open, no probe in flight: how long until the breaker lets a probe through (ms). */
      probeInMs?: number;
    };

export class OriginLimiter {
  private readonly map = new Map<string, Endpoint>();
  /**
   * Called when the deliveries parked behind the origin's breaker (delivery/parked.ts), by this
   * process or by any other, may run now: a probe's answer closed this process's open breaker; this
   * process had its first answer from the origin (a process that parked them may have died, and
   * with it the breaker whose probe would have woken them); or a delivery a breaker turned away
   * came back and got an answer (that breaker may be another process's). Not for this process's
   * later ordinary answers, nor for unreachable or stalled ends.
   */
  onReachable?: (origin: string) => void;

  constructor(
    private readonly o: OriginLimiterOptions = DEFAULT_ORIGIN_LIMITER_OPTIONS,
    private readonly onInFlight?: (origin: string, n: number) => void,
    private readonly now: () => number = Date.now,
  ) {}

  private endpoint(origin: string): Endpoint {
    let e = this.map.get(origin);
    if (!e) {
      e = {
        active: 0,
        queue: [],
        head: 0,
        avgMs: INITIAL_DURATION_MS,
        failures: 0,
        openUntil: 0,
        cooldown: this.o.breakerCooldownMs,
        probing: false,
        scoutFor: 0,
        answered: false,
      };
      this.map.set(origin, e);
    }
    return e;
  }

  /** How long a delivery joining the queue now would wait for a slot (ms). */
  expectedWaitMs(origin: string): number {
    const e = this.map.get(origin);
    if (!e) return 0;
    return ((e.queue.length - e.head + 1) / this.o.concurrency) * e.avgMs;
  }

  /**
   * A slot for one request to `origin`: at once when one is free (no promise), else a promise
   * that waits in line. Refuses at once when the breaker is open (after its cooldown one probe
   * goes through) or when the wait for a slot would be longer than `maxWaitMs`.
   */
  admit(origin: string): Admission | Promise<Admission> {
    const e = this.endpoint(origin);
    const now = this.now();
    let probe = false;
    if (e.openUntil > 0) {
      if (e.probing) return { ok: false, reason: 'circuit_open', retryInMs: 1_000 };
      if (now < e.openUntil) {
        const probeInMs = e.openUntil - now;
        return { ok: false, reason: 'circuit_open', retryInMs: Math.max(1_000, probeInMs), probeInMs };
      }
      e.probing = probe = true;
    }
    if (probe || e.active < this.o.concurrency) {
      e.active++;
      this.onInFlight?.(origin, e.active);
      return new Slot(this, origin, e, probe);
    }
    const wait = this.expectedWaitMs(origin);
    if (wait > this.o.maxWaitMs)
      return { ok: false, reason: 'overloaded', retryInMs: Math.ceil(Math.min(wait, 60_000)) };
    // a release hands its slot straight to the first waiter (still counted in `active`), so no
    // newcomer can take it in between: the limit holds and waiters go in order
    return new Promise<Admission>((resolve) => {
      e.queue.push((go) =>
        resolve(
          go
            ? new Slot(this, origin, e, false)
            : // the breaker opened while this one waited: it goes to the retry path instead
              {
                ok: false,
                reason: 'circuit_open',
                retryInMs: Math.max(1_000, e.openUntil - this.now()),
                probeInMs: Math.max(0, e.openUntil - this.now()),
              },
        ),
      );
    });
  }

  /** A slot ends: the average and the breaker learn from it, and the slot passes to the next in line. */
  releaseSlot(
    origin: string,
    e: Endpoint,
    probe: boolean,
    durationMs: number,
    end: SlotEnd,
    note: SlotEndNote | undefined,
  ): void {
    if (end === 'stalled') {
      // no verdict on the receiver; a probe that stalled lets the next one go
      if (probe) e.probing = false;
    } else {
      e.avgMs += EWMA * (durationMs - e.avgMs);
      this.record(origin, e, end === 'unreachable', probe, note?.afterRefusal === true);
    }
    if (e.head < e.queue.length) {
      const next = e.queue[e.head];
      e.queue[e.head++] = undefined as unknown as (go: boolean) => void;
      if (e.head > 1024 && e.head * 2 > e.queue.length) {
        e.queue.splice(0, e.head);
        e.head = 0;
      }
      next(true); // the slot passes on: `active` unchanged
      return;
    }
    e.active--;
    this.onInFlight?.(origin, e.active);
  }

  private record(origin: string, e: Endpoint, unreachable: boolean, probe: boolean, afterRefusal: boolean): void {
    if (probe) e.probing = false;
    if (!unreachable) {
      const wasOpen = e.openUntil > 0;
      const first = !e.answered;
      e.answered = true;
      e.failures = 0;
      e.openUntil = 0;
      e.cooldown = this.o.breakerCooldownMs;
      if (wasOpen || first || afterRefusal) this.onReachable?.(origin);
      return;
    }
    e.failures++;
    if (probe) {
      e.cooldown = Math.min(e.cooldown * 2, this.o.breakerMaxCooldownMs);
      e.openUntil = this.now() + e.cooldown;
    } else if (e.failures >= this.o.breakerThreshold && e.openUntil === 0) {
      e.openUntil = this.now() + e.cooldown;
    } else return;
    // open: everything waiting for this origin leaves for the retry path now
    const waiting = e.queue.slice(e.head);
    e.queue = [];
    e.head = 0;
    for (const waiter of waiting) waiter(false);
  }

  /**
   * After a `circuit_open` refusal: whether this delivery is the open period's scout, the one that
   * comes back when the breaker lets a probe through (the first one refused in each open period);
   * the others are parked (delivery/parked.ts) and run when a probe succeeds. None while a probe is
   * in flight: it is the scout. With no breaker open: false.
   */
  scout(origin: string): boolean {
    const e = this.map.get(origin);
    if (!e || e.openUntil === 0 || e.probing || e.scoutFor === e.openUntil) return false;
    e.scoutFor = e.openUntil;
    return true;
  }

  /**
   * How long a parked delivery waits at most: the breaker's longest cooldown, ±25 % at random (the
   * bounded fallback when no probe succeeds or no worker wakes it).
   */
  parkedDelayMs(random: () => number = Math.random): number {
    return Math.round(this.o.breakerMaxCooldownMs * (0.75 + 0.5 * random()));
  }

  /** The origin's moving average of attempt durations (ms); the initial guess for one not yet seen. */
  averageMs(origin: string): number {
    return this.map.get(origin)?.avgMs ?? INITIAL_DURATION_MS;
  }

  /**
   * Deliveries another process's breaker turned away were taken over from that process, which died
   * (delivery/reclaim.ts), and parked again: they are woken now if this process knows the origin
   * answers (it has had an answer, and its breaker is closed). Otherwise this process's first answer
   * from the origin, or the probe that closes its breaker, wakes them.
   */
  parkedTakenOver(origin: string): void {
    const e = this.map.get(origin);
    if (e?.answered && e.openUntil === 0) this.onReachable?.(origin);
  }

  /** Is the breaker open for this origin (no probe allowed right now)? */
  isOpen(origin: string): boolean {
    const e = this.map.get(origin);
    return !!e && e.openUntil > 0 && (this.now() < e.openUntil || e.probing);
  }

  /**
   * Origins whose breaker is not at rest (open, probing, or counting consecutive failures), at most
   * `max` of them, open ones first: what the failing-receivers page shows.
   */
  breakerStates(max = 500): BreakerState[] {
    const now = this.now();
    const out: BreakerState[] = [];
    for (const [origin, e] of this.map) {
      if (e.failures === 0 && e.openUntil === 0) continue;
      const state = e.openUntil === 0 ? 'closed' : e.probing || now >= e.openUntil ? 'half_open' : 'open';
      out.push({ origin, state, consecutive_failures: e.failures, open_until: e.openUntil || null });
    }
    const rank = { open: 0, half_open: 1, closed: 2 };
    return out.sort((a, b) => rank[a.state] - rank[b.state]).slice(0, max);
  }

  /** Every origin seen: requests in flight, waiting, breaker state, average attempt time. */
  snapshot(): Array<{ origin: string; active: number; queued: number; open: boolean; avgMs: number }> {
    return [...this.map.entries()].map(([origin, e]) => ({
      origin,
      active: e.active,
      queued: e.queue.length - e.head,
      open: this.isOpen(origin),
      avgMs: e.avgMs,
    }));
  }
}

/** One granted slot (a class, not a closure: one small object per request). */
class Slot {
  readonly ok = true as const;
  private released = false;
  constructor(
    private readonly endpoints: OriginLimiter,
    private readonly origin: string,
    private readonly e: Endpoint,
    private readonly probe: boolean,
  ) {}

  release(durationMs: number, end: SlotEnd, note?: SlotEndNote): void {
    if (this.released) return;
    this.released = true;
    this.endpoints.releaseSlot(this.origin, this.e, this.probe, durationMs, end, note);
  }
}
