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

const origins = { averageMs: () => 2_500 };
const slow = testWebhook({ url: 'http://127.0.0.1:9001/slow' });
const fast = testWebhook({ url: 'http://127.0.0.1:9002/fast' });

describe('OriginSlots', () => {
  it('holds at most its share per slow origin; other origins are not affected', () => {
    let t = 0;
    const slots = new OriginSlots(origins, 2, () => t);
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
    const slots = new OriginSlots(origins, 2, () => t);
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

  it('defers a delivery past its origin share without an attempt, and frees the slot when an attempt ends', async () => {
    let t = 0;
    const slots = new OriginSlots(origins, 1, () => t);
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
    expect(second.decision).toEqual({ kind: 'retry', delayMs: 2_500, consumed: false });
    // another origin still gets its attempt at once
    void slots.run(testDelivery(fast), attempt('fast-1'));
    expect(attempts).toEqual(['slow-1', 'fast-1']);
    finish['slow-1'](second);
    await first;
    expect(slots.inUse(testDelivery(slow).target.origin)).toBe(0);
  });
});

it('defers by about one attempt at the origin, within bounds; default share an eighth, at least 8', () => {
  expect(overflowDelayMs(20)).toBe(MIN_OVERFLOW_DELAY_MS);
  expect(overflowDelayMs(4_000)).toBe(4_000);
  expect(overflowDelayMs(10 * MAX_OVERFLOW_DELAY_MS)).toBe(MAX_OVERFLOW_DELAY_MS);
  expect(defaultPerOrigin(300)).toBe(38);
  expect(defaultPerOrigin(50)).toBe(8);
});
