/**
 * Isolation between receivers: a bounded number of requests in flight per origin, a queue behind
 * them bounded by how long a newcomer would wait, and a circuit breaker that stops attempts to an
 * origin that keeps timing out or refusing connections. One bad receiver never holds the slots,
 * or the worker's memory, that the others need; a fast receiver is never throttled by it.
 */

export interface EndpointOptions {
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

export const DEFAULT_ENDPOINT_OPTIONS: EndpointOptions = {
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
  queue: Array<(go: boolean) => void>;
  /** Moving average of attempt durations (ms). */
  avgMs: number;
  failures: number;
  openUntil: number;
  cooldown: number;
  probing: boolean;
}

export type Admission =
  | { ok: true; release: (durationMs: number, unreachable: boolean) => void }
  | { ok: false; reason: 'circuit_open' | 'overloaded'; retryInMs: number };

export class Endpoints {
  private readonly map = new Map<string, Endpoint>();

  constructor(
    private readonly o: EndpointOptions = DEFAULT_ENDPOINT_OPTIONS,
    private readonly onInFlight?: (origin: string, n: number) => void,
    private readonly now: () => number = Date.now,
  ) {}

  private endpoint(origin: string): Endpoint {
    let e = this.map.get(origin);
    if (!e) {
      e = {
        active: 0,
        queue: [],
        avgMs: INITIAL_DURATION_MS,
        failures: 0,
        openUntil: 0,
        cooldown: this.o.breakerCooldownMs,
        probing: false,
      };
      this.map.set(origin, e);
    }
    return e;
  }

  /** How long a delivery joining the queue now would wait for a slot (ms). */
  expectedWaitMs(origin: string): number {
    const e = this.map.get(origin);
    if (!e) return 0;
    return ((e.queue.length + 1) / this.o.concurrency) * e.avgMs;
  }

  /**
   * Waits for a slot. Refuses at once when the breaker is open (after its cooldown one probe goes
   * through) or when the wait for a slot would be longer than `maxWaitMs`.
   */
  async admit(origin: string): Promise<Admission> {
    const e = this.endpoint(origin);
    const now = this.now();
    let probe = false;
    if (e.openUntil > 0) {
      if (now < e.openUntil || e.probing)
        return { ok: false, reason: 'circuit_open', retryInMs: Math.max(1_000, e.openUntil - now) };
      e.probing = probe = true;
    }
    if (!probe && e.active >= this.o.concurrency) {
      const wait = this.expectedWaitMs(origin);
      if (wait > this.o.maxWaitMs)
        return { ok: false, reason: 'overloaded', retryInMs: Math.ceil(Math.min(wait, 60_000)) };
      // a release hands its slot straight to the first waiter (still counted in `active`), so no
      // newcomer can take it in between: the limit holds and waiters go in order
      const go = await new Promise<boolean>((resolve) => e.queue.push(resolve));
      // the breaker opened while this one waited: it goes to the retry path instead
      if (!go) return { ok: false, reason: 'circuit_open', retryInMs: Math.max(1_000, e.openUntil - this.now()) };
    } else {
      e.active++;
      this.onInFlight?.(origin, e.active);
    }
    let released = false;
    return {
      ok: true,
      release: (durationMs: number, unreachable: boolean) => {
        if (released) return;
        released = true;
        e.avgMs += EWMA * (durationMs - e.avgMs);
        this.record(e, unreachable, probe);
        const next = e.queue.shift();
        if (next) {
          next(true); // the slot passes on: `active` unchanged
          return;
        }
        e.active--;
        this.onInFlight?.(origin, e.active);
      },
    };
  }

  private record(e: Endpoint, unreachable: boolean, probe: boolean): void {
    if (probe) e.probing = false;
    if (!unreachable) {
      e.failures = 0;
      e.openUntil = 0;
      e.cooldown = this.o.breakerCooldownMs;
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
    for (const waiter of e.queue.splice(0)) waiter(false);
  }

  /** Is the breaker open for this origin (no probe allowed right now)? */
  isOpen(origin: string): boolean {
    const e = this.map.get(origin);
    return !!e && e.openUntil > 0 && (this.now() < e.openUntil || e.probing);
  }

  /** Every origin seen: requests in flight, waiting, breaker state, average attempt time. */
  snapshot(): Array<{ origin: string; active: number; queued: number; open: boolean; avgMs: number }> {
    return [...this.map.entries()].map(([origin, e]) => ({
      origin,
      active: e.active,
      queued: e.queue.length,
      open: this.isOpen(origin),
      avgMs: e.avgMs,
    }));
  }
}
