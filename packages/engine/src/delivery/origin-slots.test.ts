/** Per-origin shares of a consumer's in-progress slots: the bound, deferral past it, and release. */
import { testDelivery, testWebhook } from '../../../../test/support/engine';
import type { AttemptOutcome } from './attempt';
import {
  defaultPerOrigin,
  MAX_OVERFLOW_DELAY_MS,
  MIN_OVERFLOW_DELAY_MS,
  OriginSlots,
  overflowDelayMs,
} from './origin-slots';

const origins = { averageMs: () => 2_500 };
const slow = testWebhook({ url: 'http://127.0.0.1:9001/slow' });
const fast = testWebhook({ url: 'http://127.0.0.1:9002/fast' });

describe('OriginSlots', () => {
  it('holds at most its share per origin; other origins are not affected', () => {
    const slots = new OriginSlots(origins, 2);
    const a = slots.take('http://a');
    expect(a).toBeDefined();
    expect(slots.take('http://a')).toBeDefined();
    expect(slots.take('http://a')).toBeUndefined();
    expect(slots.take('http://b')).toBeDefined();
    a!();
    a!(); // twice is once
    expect(slots.inUse('http://a')).toBe(1);
    expect(slots.take('http://a')).toBeDefined();
  });

  it('defers a delivery past its origin share without an attempt, and frees the slot when an attempt ends', async () => {
    const slots = new OriginSlots(origins, 1);
    const finish: Record<string, (o: AttemptOutcome) => void> = {};
    const attempts: string[] = [];
    const attempt = (name: string) => () => {
      attempts.push(name);
      return new Promise<AttemptOutcome>((r) => (finish[name] = r));
    };
    const first = slots.run(testDelivery(slow), attempt('slow-1'));
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
