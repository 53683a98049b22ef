/**
 * Per-origin isolation: concurrency slots, a queue bounded by expected wait, and the circuit breaker.
 * A fake clock drives the breaker; nothing here sleeps.
 */
import { OriginLimiter, type Admission, type OriginLimiterOptions } from './origin-limiter';

const O = 'http://receiver.test:8080';
const OTHER = 'http://other.test';

const opts = (over: Partial<OriginLimiterOptions> = {}): OriginLimiterOptions => ({
  concurrency: 2,
  maxWaitMs: 5_000,
  breakerThreshold: 3,
  breakerCooldownMs: 1_000,
  breakerMaxCooldownMs: 3_000,
  ...over,
});

/** Lets pending promise continuations run. */
const tick = () => new Promise((r) => setImmediate(r));

function granted(a: Admission): Extract<Admission, { ok: true }> {
  if (!a.ok) throw new Error(`expected a slot, got ${a.reason}`);
  return a;
}

/** Tracks whether an admit() has settled yet (a free slot comes at once, a wait as a promise). */
function track(a: Admission | Promise<Admission>) {
  const p = Promise.resolve(a);
  const t: { done: boolean; value?: Admission; p: Promise<Admission> } = { done: false, p };
  p.then((v) => {
    t.done = true;
    t.value = v;
  });
  return t;
}

let clock: number;
const now = () => clock;
beforeEach(() => {
  clock = 1_000_000;
});

describe('concurrency', () => {
  it('admits up to the limit at once; the next waits until a release', async () => {
    const ep = new OriginLimiter(opts(), undefined, now);
    const a = granted(await ep.admit(O));
    granted(await ep.admit(O));
    const third = track(ep.admit(O));
    await tick();
    expect(third.done).toBe(false);
    a.release(10, 'answered');
    await tick();
    expect(third.done).toBe(true);
    expect(third.value?.ok).toBe(true);
  });

  it('origins are independent', async () => {
    const ep = new OriginLimiter(opts({ concurrency: 1 }), undefined, now);
    granted(await ep.admit(O));
    const other = track(ep.admit(OTHER));
    await tick();
    expect(other.done).toBe(true);
    expect(other.value?.ok).toBe(true);
  });

  it('serves waiters in FIFO order', async () => {
    const ep = new OriginLimiter(opts({ concurrency: 1 }), undefined, now);
    const first = granted(await ep.admit(O));
    const order: number[] = [];
    const waiters = [1, 2, 3].map((n) =>
      Promise.resolve(ep.admit(O)).then((a) => {
        order.push(n);
        return granted(a);
      }),
    );
    await tick();
    expect(order).toEqual([]);
    first.release(10, 'answered');
    const w1 = await waiters[0];
    await tick();
    expect(order).toEqual([1]);
    w1.release(10, 'answered');
    const w2 = await waiters[1];
    await tick();
    expect(order).toEqual([1, 2]);
    w2.release(10, 'answered');
    (await waiters[2]).release(10, 'answered');
    expect(order).toEqual([1, 2, 3]);
  });

  it('a second release of the same slot is ignored', async () => {
    const inFlight: number[] = [];
    const ep = new OriginLimiter(opts({ concurrency: 1 }), (_o, n) => inFlight.push(n), now);
    const a = granted(await ep.admit(O));
    const b = granted(await ep.admit(OTHER));
    a.release(10, 'answered');
    a.release(10, 'answered');
    b.release(10, 'answered');
    expect(inFlight).toEqual([1, 1, 0, 0]);
    // the slot was freed once: one admission gets through, the next waits
    granted(await ep.admit(O));
    const waiting = track(ep.admit(O));
    await tick();
    expect(waiting.done).toBe(false);
  });

  it('a newcomer arriving right after a release does not jump the queue or exceed the limit', async () => {
    const inFlight: number[] = [];
    const ep = new OriginLimiter(opts({ concurrency: 1 }), (_o, n) => inFlight.push(n), now);
    const a = granted(await ep.admit(O));
    const waiter = track(ep.admit(O));
    await tick();
    a.release(10, 'answered');
    await tick(); // the waiter has its slot before anyone new arrives
    expect(waiter.done).toBe(true);
    expect(waiter.value?.ok).toBe(true);
    const newcomer = track(ep.admit(O));
    await tick();
    expect(newcomer.done).toBe(false);
    expect(Math.max(...inFlight)).toBe(1);
  });

  // admit() checks `active >= concurrency` synchronously, but a released slot is handed to the first
  // waiter only when its promise continuation runs (a microtask later). An admit() in the same tick
  // as a release sees the freed slot, takes it, and the woken waiter then takes it too.
  it('a release hands its slot to the first waiter: a newcomer in the same tick neither exceeds the limit nor overtakes', async () => {
    const inFlight: number[] = [];
    const ep = new OriginLimiter(opts({ concurrency: 1 }), (_o, n) => inFlight.push(n), now);
    const a = granted(await ep.admit(O));
    const waiter = track(ep.admit(O));
    await tick();
    a.release(10, 'answered');
    const newcomer = track(ep.admit(O));
    await tick();
    expect(waiter.done).toBe(true);
    expect(newcomer.done).toBe(false);
    expect(Math.max(...inFlight)).toBeLessThanOrEqual(1);
    granted(waiter.value!).release(10, 'answered');
    await tick();
    expect(newcomer.done).toBe(true);
  });
});

describe('expected wait', () => {
  it('is 0 for an origin not seen, then (queue + 1) / concurrency × the average duration', async () => {
    const ep = new OriginLimiter(opts({ concurrency: 2 }), undefined, now);
    expect(ep.expectedWaitMs(O)).toBe(0);
    granted(await ep.admit(O));
    // an origin not yet measured is assumed at 20 ms per attempt
    expect(ep.expectedWaitMs(O)).toBe(10);
  });

  it("defers with 'overloaded' and retryInMs once the queue would wait longer than maxWaitMs", async () => {
    const ep = new OriginLimiter(opts({ concurrency: 2, maxWaitMs: 2_500 }), undefined, now);
    const held = granted(await ep.admit(O));
    // feed a long average: ~1000 ms per attempt
    for (let i = 0; i < 80; i++) granted(await ep.admit(O)).release(1_000, 'answered');
    const avg = ep.snapshot().find((s) => s.origin === O)!.avgMs;
    expect(avg).toBeGreaterThan(999);
    expect(avg).toBeLessThan(1_000);
    granted(await ep.admit(O)); // both slots taken
    // joining behind q waiters means waiting (q + 1) / 2 × avg: 0.5, 1, 1.5, 2, 2.5 × avg fit in 2500 ms
    const waiters = [0, 1, 2, 3, 4].map(() => track(ep.admit(O)));
    await tick();
    expect(waiters.every((w) => !w.done)).toBe(true);
    expect(ep.expectedWaitMs(O)).toBeCloseTo(3 * avg, 6);
    const refused = await ep.admit(O); // 3 × avg > 2500
    expect(refused).toEqual({ ok: false, reason: 'overloaded', retryInMs: Math.ceil(3 * avg) });
    expect(ep.snapshot().find((s) => s.origin === O)?.queued).toBe(5);
    // a release lets the queue move: the next newcomer fits again
    held.release(1_000, 'answered');
    await tick();
    expect(waiters[0].done).toBe(true);
    expect(ep.snapshot().find((s) => s.origin === O)?.queued).toBe(4);
    expect(track(ep.admit(O)).done).toBe(false);
    await tick();
    expect(ep.snapshot().find((s) => s.origin === O)?.queued).toBe(5);
  });

  it('caps retryInMs at 60 s', async () => {
    const ep = new OriginLimiter(opts({ concurrency: 1, maxWaitMs: 10 }), undefined, now);
    // two samples of 500 s: the average is ~95 s (a slow origin is remembered while idle)
    granted(await ep.admit(O)).release(500_000, 'answered');
    granted(await ep.admit(O)).release(500_000, 'answered');
    expect(ep.snapshot()[0].avgMs).toBeGreaterThan(60_000);
    granted(await ep.admit(O));
    expect(ep.expectedWaitMs(O)).toBeGreaterThan(60_000);
    expect(await ep.admit(O)).toEqual({ ok: false, reason: 'overloaded', retryInMs: 60_000 });
  });

  it('does not defer while a slot is free, however slow the origin', async () => {
    const ep = new OriginLimiter(opts({ concurrency: 2, maxWaitMs: 10 }), undefined, now);
    for (let i = 0; i < 50; i++) granted(await ep.admit(O)).release(10_000, 'answered');
    expect(ep.snapshot()[0].avgMs).toBeGreaterThan(1_000);
    expect((await ep.admit(O)).ok).toBe(true);
    expect((await ep.admit(O)).ok).toBe(true);
    expect(await ep.admit(O)).toMatchObject({ ok: false, reason: 'overloaded' });
  });
});

describe('circuit breaker', () => {
  async function failTimes(ep: OriginLimiter, n: number, origin = O) {
    for (let i = 0; i < n; i++) granted(await ep.admit(origin)).release(5, 'unreachable');
  }

  it(`opens after breakerThreshold consecutive unreachable releases and refuses with 'circuit_open'`, async () => {
    const ep = new OriginLimiter(opts(), undefined, now);
    await failTimes(ep, 2);
    expect(ep.isOpen(O)).toBe(false);
    expect((await ep.admit(O)).ok).toBe(true);
    const ep2 = new OriginLimiter(opts(), undefined, now);
    await failTimes(ep2, 3);
    expect(ep2.isOpen(O)).toBe(true);
    expect(await ep2.admit(O)).toEqual({ ok: false, reason: 'circuit_open', retryInMs: 1_000, probeInMs: 1_000 });
    clock += 400;
    expect(await ep2.admit(O)).toEqual({ ok: false, reason: 'circuit_open', retryInMs: 1_000, probeInMs: 600 });
    // other origins are unaffected
    expect((await ep2.admit(OTHER)).ok).toBe(true);
    expect(ep2.isOpen(OTHER)).toBe(false);
  });

  it('retryInMs is the rest of the open period (at least 1 s); probeInMs exactly that', async () => {
    const ep = new OriginLimiter(opts({ breakerCooldownMs: 10_000, breakerMaxCooldownMs: 60_000 }), undefined, now);
    await failTimes(ep, 3);
    clock += 2_500;
    expect(await ep.admit(O)).toEqual({ ok: false, reason: 'circuit_open', retryInMs: 7_500, probeInMs: 7_500 });
    clock += 7_000;
    expect(await ep.admit(O)).toEqual({ ok: false, reason: 'circuit_open', retryInMs: 1_000, probeInMs: 500 });
  });

  it('a reachable release resets the count of consecutive failures', async () => {
    const ep = new OriginLimiter(opts(), undefined, now);
    await failTimes(ep, 2);
    granted(await ep.admit(O)).release(5, 'answered');
    await failTimes(ep, 2);
    expect(ep.isOpen(O)).toBe(false);
    expect((await ep.admit(O)).ok).toBe(true);
  });

  it('lets exactly one probe through after the cooldown; a good probe closes it', async () => {
    const ep = new OriginLimiter(opts(), undefined, now);
    await failTimes(ep, 3);
    clock += 999;
    // refused, saying when a probe may go
    expect(await ep.admit(O)).toMatchObject({ ok: false, reason: 'circuit_open', probeInMs: 1 });
    clock += 1;
    const probe = granted(await ep.admit(O));
    // while the probe is out, everything else is refused (and when a probe may go is unknown)
    expect(ep.isOpen(O)).toBe(true);
    const during = await ep.admit(O);
    expect(during).toMatchObject({ ok: false, reason: 'circuit_open' });
    expect(during).not.toHaveProperty('probeInMs');
    clock += 60_000;
    expect(await ep.admit(O)).toMatchObject({ ok: false, reason: 'circuit_open' });
    probe.release(5, 'answered');
    expect(ep.isOpen(O)).toBe(false);
    expect((await ep.admit(O)).ok).toBe(true);
    expect((await ep.admit(O)).ok).toBe(true);
  });

  it('names one scout per open period, none while a probe is in flight', async () => {
    const ep = new OriginLimiter(opts(), undefined, now);
    expect(ep.scout(O)).toBe(false); // never seen
    granted(await ep.admit(O)).release(5, 'answered');
    expect(ep.scout(O)).toBe(false); // closed
    await failTimes(ep, 3);
    expect(ep.scout(O)).toBe(true);
    expect(ep.scout(O)).toBe(false);
    expect(ep.scout(O)).toBe(false);
    clock += 1_000;
    const probe = granted(await ep.admit(O));
    expect(ep.scout(O)).toBe(false); // the probe is the scout
    probe.release(5, 'unreachable'); // re-opened: a new open period, a new scout
    expect(ep.scout(O)).toBe(true);
    expect(ep.scout(O)).toBe(false);
    expect(ep.scout(OTHER)).toBe(false);
  });

  it('tells when parked deliveries may run: a probe closes an open breaker, the first answer, an answer after a refusal', async () => {
    const ep = new OriginLimiter(opts(), undefined, now);
    const reachable: string[] = [];
    ep.onReachable = (origin) => reachable.push(origin);
    await failTimes(ep, 2); // counting, not open: no answer yet, nothing told
    expect(reachable).toEqual([]);
    // the first answer this process has from the origin: a dead process may have parked some
    granted(await ep.admit(O)).release(5, 'answered');
    expect(reachable).toEqual([O]);
    granted(await ep.admit(O)).release(5, 'answered');
    expect(reachable).toEqual([O]); // later answers: nothing
    await failTimes(ep, 3);
    clock += 1_000;
    const probe = granted(await ep.admit(O));
    probe.release(5, 'unreachable');
    expect(reachable).toEqual([O]);
    clock += 2_000;
    granted(await ep.admit(O)).release(5, 'answered'); // the probe closes it
    expect(reachable).toEqual([O, O]);
    expect(ep.isOpen(O)).toBe(false);
    // a delivery another process's breaker turned away gets an answer here
    granted(await ep.admit(O)).release(5, 'answered', { afterRefusal: true });
    expect(reachable).toEqual([O, O, O]);
    // ... but not when it is unreachable again, nor when it stalled
    granted(await ep.admit(O)).release(5, 'unreachable', { afterRefusal: true });
    granted(await ep.admit(O)).release(5, 'stalled', { afterRefusal: true });
    expect(reachable).toEqual([O, O, O]);
  });

  it('a parked delivery waits at most the longest cooldown, ±25 %', () => {
    const ep = new OriginLimiter(opts({ breakerMaxCooldownMs: 300_000 }), undefined, now);
    expect(ep.parkedDelayMs(() => 0)).toBe(225_000);
    expect(ep.parkedDelayMs(() => 0.5)).toBe(300_000);
    expect(ep.parkedDelayMs(() => 0.999_999)).toBeLessThanOrEqual(375_000);
  });

  it('a bad probe re-opens it with the cooldown doubled, capped at breakerMaxCooldownMs', async () => {
    const ep = new OriginLimiter(opts({ breakerCooldownMs: 1_000, breakerMaxCooldownMs: 3_000 }), undefined, now);
    await failTimes(ep, 3);
    const expectOpenFor = async (ms: number) => {
      expect(await ep.admit(O)).toEqual({ ok: false, reason: 'circuit_open', retryInMs: ms, probeInMs: ms });
      clock += ms - 1;
      expect((await ep.admit(O)).ok).toBe(false);
      clock += 1;
    };
    await expectOpenFor(1_000);
    granted(await ep.admit(O)).release(5, 'unreachable'); // probe fails
    await expectOpenFor(2_000);
    granted(await ep.admit(O)).release(5, 'unreachable');
    await expectOpenFor(3_000); // 4000, capped
    granted(await ep.admit(O)).release(5, 'unreachable');
    await expectOpenFor(3_000);
    // a good probe closes it and resets the cooldown
    granted(await ep.admit(O)).release(5, 'answered');
    expect(ep.isOpen(O)).toBe(false);
    await failTimes(ep, 3);
    await expectOpenFor(1_000);
  });

  it("rejects the queued waiters with 'circuit_open' when it opens", async () => {
    const ep = new OriginLimiter(opts({ concurrency: 3, breakerThreshold: 2 }), undefined, now);
    const slots = [granted(await ep.admit(O)), granted(await ep.admit(O)), granted(await ep.admit(O))];
    const waiters = [track(ep.admit(O)), track(ep.admit(O))];
    await tick();
    expect(waiters.map((w) => w.done)).toEqual([false, false]);
    slots[0].release(5, 'unreachable');
    // the first release hands its slot to the first waiter
    granted(await waiters[0].p);
    await tick();
    expect(waiters[1].done).toBe(false);
    slots[1].release(5, 'unreachable'); // second in a row: opens
    await tick();
    expect(waiters[1].done).toBe(true);
    expect(waiters[1].value).toEqual({ ok: false, reason: 'circuit_open', retryInMs: 1_000, probeInMs: 1_000 });
    expect(ep.snapshot().find((s) => s.origin === O)).toMatchObject({ queued: 0, open: true });
  });

  it('the waiters of an opening breaker do not take slots afterwards', async () => {
    const inFlight: number[] = [];
    const ep = new OriginLimiter(opts({ concurrency: 1, breakerThreshold: 1 }), (_o, n) => inFlight.push(n), now);
    const a = granted(await ep.admit(O));
    const waiters = [ep.admit(O), ep.admit(O)];
    await tick();
    a.release(5, 'unreachable');
    const results = await Promise.all(waiters);
    expect(results.map((r) => r.ok)).toEqual([false, false]);
    expect(inFlight).toEqual([1, 0]);
  });
});

describe('onInFlight and snapshot', () => {
  it('reports the in-flight count of the origin on each admit and release', async () => {
    const calls: Array<[string, number]> = [];
    const ep = new OriginLimiter(opts({ concurrency: 2 }), (o, n) => calls.push([o, n]), now);
    const a = granted(await ep.admit(O));
    const b = granted(await ep.admit(O));
    const c = granted(await ep.admit(OTHER));
    const waiter = ep.admit(O);
    await tick();
    a.release(10, 'answered');
    const w = granted(await waiter);
    b.release(10, 'answered');
    w.release(10, 'answered');
    c.release(10, 'answered');
    // a's slot passes straight to the waiter: no dip to 1 and back
    expect(calls).toEqual([
      [O, 1],
      [O, 2],
      [OTHER, 1],
      [O, 1],
      [O, 0],
      [OTHER, 0],
    ]);
  });

  it('lists the origins seen, with requests in flight, waiting, and their average', async () => {
    const ep = new OriginLimiter(opts({ concurrency: 1 }), undefined, now);
    expect(ep.snapshot()).toEqual([]);
    const a = granted(await ep.admit(O));
    const waiter = ep.admit(O);
    const b = granted(await ep.admit(OTHER));
    await tick();
    expect(ep.snapshot()).toEqual([
      { origin: O, active: 1, queued: 1, open: false, avgMs: 20 },
      { origin: OTHER, active: 1, queued: 0, open: false, avgMs: 20 },
    ]);
    a.release(120, 'answered');
    const w = granted(await waiter);
    expect(ep.snapshot().find((s) => s.origin === O)).toEqual({
      origin: O,
      active: 1,
      queued: 0,
      open: false,
      avgMs: 30,
    });
    w.release(20, 'answered');
    b.release(20, 'answered');
    // idle origins are kept: their average attempt time still matters for the next burst
    expect(ep.snapshot()).toEqual([
      { origin: O, active: 0, queued: 0, open: false, avgMs: 29 },
      { origin: OTHER, active: 0, queued: 0, open: false, avgMs: 20 },
    ]);
  });

  it('keeps an origin with an open breaker (or recent failures) in the snapshot', async () => {
    const ep = new OriginLimiter(opts({ breakerThreshold: 2 }), undefined, now);
    granted(await ep.admit(O)).release(5, 'unreachable');
    expect(ep.snapshot()).toEqual([expect.objectContaining({ origin: O, active: 0, open: false })]);
    granted(await ep.admit(O)).release(5, 'unreachable');
    expect(ep.snapshot()).toEqual([expect.objectContaining({ origin: O, active: 0, queued: 0, open: true })]);
    clock += 1_000;
    expect(ep.snapshot()[0].open).toBe(false); // a probe may go
  });

  it('keeps a slow origin’s average after it goes idle', async () => {
    const ep = new OriginLimiter(opts(), undefined, now);
    const held = granted(await ep.admit(O));
    for (let i = 0; i < 40; i++) granted(await ep.admit(O)).release(5_000, 'answered');
    held.release(5_000, 'answered');
    const [s] = ep.snapshot();
    expect(s.origin).toBe(O);
    expect(s.avgMs).toBeGreaterThan(1_000);
    expect(s.active).toBe(0);
  });
});

describe('breakerStates (what workers publish for the failing-receivers page)', () => {
  it('lists origins counting failures, open, then half-open, and leaves healthy ones out', () => {
    const l = new OriginLimiter(opts(), undefined, now);
    const fail = (origin: string) => granted(l.admit(origin) as Admission).release(10, 'unreachable');
    granted(l.admit(OTHER) as Admission).release(10, 'answered');
    fail(O);
    expect(l.breakerStates()).toEqual([{ origin: O, state: 'closed', consecutive_failures: 1, open_until: null }]);
    fail(O);
    fail(O);
    expect(l.breakerStates()).toEqual([
      { origin: O, state: 'open', consecutive_failures: 3, open_until: clock + 1_000 },
    ]);
    clock += 1_000;
    expect(l.breakerStates()[0].state).toBe('half_open');
    // a probe that succeeds closes it, and the origin drops out of the list
    granted(l.admit(O) as Admission).release(10, 'answered');
    expect(l.breakerStates()).toEqual([]);
  });
});
