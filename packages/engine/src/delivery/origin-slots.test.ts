/** Per-origin shares of a consumer's in-progress slots: the bound, deferral past it, and release. */
import { testDelivery, testWebhook } from '../../../../test/support/engine';
import type { AttemptOutcome } from './attempt';
import {
  defaultPerOrigin,
  MAX_OVERFLOW_DELAY_MS,
  MIN_OVERFLOW_DELAY_MS,
  OriginSlots,
  overflowDelayMs,
  SLOW_ATTEMPT_MS,
} from './origin-slots';

const origins = { averageMs: () => 2_500, expectedWaitMs: () => 0 };

/** An attempt whose receiver answered 200 in `ms`. */
const answered = (ms: number) =>
  ({
    outcome: 'success',
    decision: { kind: 'succeeded' },
    record: { attempt_log: [{ at: '', status_code: 200, duration_ms: ms, error: null }] },
  }) as unknown as AttemptOutcome;
const slow = testWebhook({ url: 'http://127.0.0.1:9001/slow' });
const fast = testWebhook({ url: 'http://127.0.0.1:9002/fast' });

describe('OriginSlots', () => {
  it('answersFast: judged by answers only; beyondShare takes a counted slot past the share', async () => {
    let t = 0;
    const slots = new OriginSlots(origins, { perOrigin: 1, clock: () => t });
    expect(slots.answersFast('http://a')).toBe(false); // nothing known yet
    const first = slots.take('http://a')!;
    t += 5;
    first(5); // answered in 5 ms
    expect(slots.answersFast('http://a')).toBe(true);
    const held = slots.take('http://a')!;
    t += 2 * SLOW_ATTEMPT_MS; // an attempt running long: the share binds, answers still read fast
    expect(slots.take('http://a')).toBeUndefined();
    expect(slots.answersFast('http://a')).toBe(true);
    expect(slots.knownSlow('http://a')).toBe(true);
    const extra = slots.take('http://a', { beyondShare: true });
    expect(extra).toBeDefined();
    expect(slots.inUse('http://a')).toBe(2);
    held();
    extra!();
    expect(slots.inUse('http://a')).toBe(0);
  });

  it('past the share, a delivery whose breaker is open is attempted (turned away at once), not deferred', async () => {
    let open = false;
    const slots = new OriginSlots({ ...origins, isOpen: () => open }, { perOrigin: 1, waitMs: 60_000 });
    const d = testDelivery(slow);
    const o = d.target.origin;
    const held = slots.take(o)!;
    const refused = {
      outcome: 'retry',
      decision: { kind: 'retry', delayMs: 1, consumed: true },
    } as unknown as AttemptOutcome;
    let attempted = 0;
    open = true;
    const out = await slots.run(d, async () => {
      attempted++;
      return {
        ...refused,
        record: { attempt_log: [{ error: 'circuit_open', duration_ms: 0 }] },
      } as unknown as AttemptOutcome;
    });
    expect(attempted).toBe(1);
    expect(out.outcome).toBe('retry');
    expect(slots.inUse(o)).toBe(1); // its slot freed, the held one still counted
    held();
    expect(slots.inUse(o)).toBe(0);
  });

  it('puts off by the oldest attempt in progress when that is longer than the average (a hang has no average yet)', () => {
    let t = 0;
    const guess = { averageMs: () => 100, expectedWaitMs: () => 0 };
    const slots = new OriginSlots(guess, { perOrigin: 1, clock: () => t });
    expect(slots.take('http://h')).toBeDefined();
    t += 4_000;
    expect(slots.oldestMs('http://h')).toBe(4_000);
    const delays = Array.from({ length: 50 }, () => slots.deferralMs('http://h'));
    // about 4 s, spread ±50 % (not the 1 s floor the 100 ms guess alone would give)
    expect(Math.min(...delays)).toBeGreaterThanOrEqual(2_000);
    expect(Math.max(...delays)).toBeLessThanOrEqual(6_000);
    expect(slots.oldestMs('http://idle')).toBe(0);
    expect(slots.deferralMs('http://idle')).toBe(MIN_OVERFLOW_DELAY_MS);
  });

  it('does not blame a receiver that is still answering for attempts that run long; blames it once it goes quiet', () => {
    let t = 0;
    const slots = new OriginSlots(origins, { perOrigin: 2, clock: () => t });
    const o = 'http://busy';
    const first = slots.take(o)!;
    t += 5;
    first(5); // answered in 5 ms: fast, past its share
    const held = Array.from({ length: 20 }, () => slots.take(o)!);
    expect(held.every(Boolean)).toBe(true);
    // a stall (of this process, or of the receiver): 1.5 s on, the 20 are still in progress but
    // answers keep coming in, one every 300 ms
    for (let i = 0; i < 5; i++) {
      t += 300;
      held.pop()!(5);
    }
    expect(slots.oldestMs(o)).toBeGreaterThan(SLOW_ATTEMPT_MS);
    expect(slots.knownSlow(o)).toBe(false); // it answers: not put off (it was: every delivery to it)
    const more = slots.take(o);
    expect(more).toBeDefined(); // fast: past its share
    t += SLOW_ATTEMPT_MS; // no answer for a second: it hangs now
    expect(slots.knownSlow(o)).toBe(true);
    expect(slots.take(o)).toBeUndefined();
    [...held, more].forEach((r) => r!(null));
  });

  it('puts off past the share of a hanging origin by how long its oldest attempt has run (no average before a timeout)', async () => {
    let t = 0;
    const slots = new OriginSlots({ averageMs: () => 20, expectedWaitMs: () => 0 }, { perOrigin: 1, clock: () => t });
    const d = testDelivery(slow);
    const hung = slots.take(d.target.origin)!;
    t += 4_000;
    const outs = await Promise.all(
      Array.from({ length: 20 }, () => slots.run(d, () => Promise.reject(new Error('never attempted')))),
    );
    const delays = outs.map((o) => (o.decision as { delayMs: number }).delayMs);
    expect(outs.every((o) => o.outcome === 'deferred')).toBe(true);
    // about 4 s ±50 %, not the 1 s floor its 20 ms guess would give: they do not come back every second
    expect([Math.min(...delays) >= 2_000, Math.max(...delays) <= 6_000]).toEqual([true, true]);
    hung(null);
  });

  it('holds at most its share per slow origin; other origins are not affected', () => {
    let t = 0;
    const slots = new OriginSlots(origins, { perOrigin: 2, clock: () => t });
    const a = slots.take('http://a');
    expect(a).toBeDefined();
    expect(slots.take('http://a')).toBeDefined();
    t += SLOW_ATTEMPT_MS; // the oldest attempt has run long: the origin is slow
    expect(slots.take('http://a')).toBeUndefined();
    expect(slots.take('http://b')).toBeDefined();
    a!();
    a!(); // twice is once
    expect(slots.inUse('http://a')).toBe(1);
    expect(slots.take('http://a')).toBeDefined();
  });

  it('lets an origin known to be fast go past its share; unknown and slow ones are held to it', () => {
    let t = 0;
    const slots = new OriginSlots(origins, { perOrigin: 2, clock: () => t });
    // unknown: held to the share
    const first = [slots.take('http://fast'), slots.take('http://fast')];
    expect(slots.take('http://fast')).toBeUndefined();
    t += 10;
    for (const r of first) r!(); // two attempts of 10 ms: known fast
    for (let i = 0; i < 10; i++) {
      expect(slots.take('http://fast')).toBeDefined();
      t += 10;
    }
    expect(slots.inUse('http://fast')).toBe(10);
    // an attempt in progress for a second: slow again, held to its share
    t += SLOW_ATTEMPT_MS;
    expect(slots.take('http://fast')).toBeUndefined();
  });

  it('defers at once, without an attempt, past the share of an origin known to be slow; frees the slot when an attempt ends', async () => {
    let t = 0;
    const slots = new OriginSlots(origins, { perOrigin: 1, waitMs: 20, clock: () => t });
    const finish: Record<string, (o: AttemptOutcome) => void> = {};
    const attempts: string[] = [];
    const attempt = (name: string) => () => {
      attempts.push(name);
      return new Promise<AttemptOutcome>((r) => (finish[name] = r));
    };
    const first = slots.run(testDelivery(slow), attempt('slow-1'));
    t += SLOW_ATTEMPT_MS;
    const second = await slots.run(testDelivery(slow), attempt('slow-2'));
    expect(second.outcome).toBe('deferred');
    expect(second.decision).toMatchObject({ kind: 'retry', consumed: false });
    const delay = (second.decision as { delayMs: number }).delayMs;
    expect([delay >= 1_250, delay <= 3_750]).toEqual([true, true]); // about one attempt at the origin
    // another origin still gets its attempt at once
    void slots.run(testDelivery(fast), attempt('fast-1'));
    expect(attempts).toEqual(['slow-1', 'fast-1']);
    finish['slow-1'](second);
    await first;
    expect(slots.inUse(testDelivery(slow).target.origin)).toBe(0);
  });

  it('defers a delivery to an unknown origin whose wait for a slot ran out', async () => {
    const slots = new OriginSlots(origins, { perOrigin: 1, waitMs: 20 });
    const d = testDelivery(slow);
    let finish: (o: AttemptOutcome) => void = () => {};
    const first = slots.run(d, () => new Promise<AttemptOutcome>((r) => (finish = r)));
    const second = slots.run(d, () => Promise.reject(new Error('never attempted')));
    expect(slots.waitingFor(d.target.origin)).toBe(1);
    const out = await second;
    expect([out.outcome, slots.waitingFor(d.target.origin)]).toEqual(['deferred', 0]);
    finish(out);
    await first;
  });

  it('starts a waiting delivery as soon as a slot frees, in order', async () => {
    const slots = new OriginSlots(origins, { perOrigin: 1, waitMs: 60_000 });
    const finish: Record<string, (o: AttemptOutcome) => void> = {};
    const attempts: string[] = [];
    const attempt = (name: string) => () => {
      attempts.push(name);
      return new Promise<AttemptOutcome>((r) => (finish[name] = r));
    };
    const d = testDelivery(slow);
    const first = slots.run(d, attempt('1'));
    const second = slots.run(d, attempt('2')); // both wait: the only slot is taken (answers of 400 ms: not fast)
    const third = slots.run(d, attempt('3'));
    expect([attempts, slots.waitingFor(d.target.origin)]).toEqual([['1'], 2]);
    finish['1'](answered(400));
    await first;
    await new Promise((r) => setImmediate(r));
    expect([attempts, slots.waitingFor(d.target.origin), slots.inUse(d.target.origin)]).toEqual([['1', '2'], 1, 1]);
    finish['2'](answered(400));
    expect((await second).outcome).toBe('success');
    await new Promise((r) => setImmediate(r));
    finish['3'](answered(400));
    expect((await third).outcome).toBe('success');
    expect(slots.inUse(d.target.origin)).toBe(0);
  });

  it('does not blame a receiver when the whole process is slow, but still one much slower than the rest', async () => {
    const slots = new OriginSlots(origins, { perOrigin: 1 });
    const only = testDelivery(slow);
    // every answer takes 400 ms, from the only receiver there is: the process is slow, not it
    for (let i = 0; i < 300; i++) await slots.run(only, async () => answered(400));
    const held = [slots.take(only.target.origin), slots.take(only.target.origin), slots.take(only.target.origin)];
    expect(held.every(Boolean)).toBe(true);
    held.forEach((r) => r!(null));
    // a receiver answering in 5 s among them is slow: held to its share
    const other = testDelivery(fast);
    await slots.run(other, async () => answered(5_000));
    const first = slots.take(other.target.origin);
    expect([first !== undefined, slots.take(other.target.origin)]).toEqual([true, undefined]);
    first!(null);
  });

  it("counts this process's own connection queue for the origin as ours, not the receiver's", () => {
    let t = 0;
    let queued = 0;
    const slots = new OriginSlots(
      { averageMs: () => 20, expectedWaitMs: () => queued },
      { perOrigin: 1, clock: () => t },
    );
    const o = testDelivery(fast).target.origin;
    const first = slots.take(o);
    first!(5); // answered in 5 ms: fast
    const running = slots.take(o);
    t += 1_500; // an attempt held its slot 1.5 s...
    queued = 4_000; // ...because thousands wait in our own queue to the origin: not slow
    const more = slots.take(o);
    expect(more).toBeDefined();
    queued = 0; // nothing queued: 1.5 s is the receiver's own doing
    expect(slots.take(o)).toBeUndefined();
    running!(null);
    more!(null);
  });

  it('learns speed from answer times, not from slot time spent in our own queue', async () => {
    let t = 0;
    const slots = new OriginSlots(origins, { perOrigin: 1, clock: () => t });
    const d = testDelivery(fast);
    // held 900 ms (our own connection queue), answered in 5 ms: fast, the share no longer binds
    const first = slots.run(d, async () => {
      t += 900;
      return answered(5);
    });
    await first;
    const release = [slots.take(d.target.origin), slots.take(d.target.origin), slots.take(d.target.origin)];
    expect(release.every(Boolean)).toBe(true);
    // a deferral or an open breaker teaches nothing
    release.forEach((r) => r!(null));
    expect(slots.inUse(d.target.origin)).toBe(0);
  });

  it("lets a fresh origin's whole first burst go once its first attempts show it fast", async () => {
    let t = 0;
    const slots = new OriginSlots(origins, { perOrigin: 2, waitMs: 60_000, clock: () => t });
    const finish: Array<() => void> = [];
    const attempts: number[] = [];
    const d = testDelivery(fast);
    const ok = answered(5);
    const burst = Array.from({ length: 4 }, (_, i) =>
      slots.run(d, () => {
        attempts.push(i);
        return new Promise<AttemptOutcome>((r) => finish.push(() => r(ok)));
      }),
    );
    expect(attempts).toEqual([0, 1]); // unknown: held to its share, two wait
    t += 5;
    finish[0](); // 5 ms: known fast, every waiting one starts
    await new Promise((r) => setImmediate(r));
    expect(attempts).toEqual([0, 1, 2, 3]);
    finish.slice(1).forEach((f) => f());
    expect((await Promise.all(burst)).map((o) => o.outcome)).toEqual(['success', 'success', 'success', 'success']);
  });
});

it('defers by about one attempt at the origin, within bounds; default share an eighth, at least 8', () => {
  expect(overflowDelayMs(20)).toBe(MIN_OVERFLOW_DELAY_MS);
  expect(overflowDelayMs(4_000, () => 0.5)).toBe(4_000);
  // spread ±50 %, so deliveries deferred together do not all come back together
  expect([overflowDelayMs(4_000, () => 0), overflowDelayMs(4_000, () => 0.999)]).toEqual([2_000, 5_996]);
  expect(overflowDelayMs(10 * MAX_OVERFLOW_DELAY_MS)).toBe(MAX_OVERFLOW_DELAY_MS);
  expect(defaultPerOrigin(300)).toBe(38);
  expect(defaultPerOrigin(50)).toBe(8);
});
