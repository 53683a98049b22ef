/** The worker setting of ordered delivery: DEVHOOKS_ORDER_HOLD_MAX (docs/contract.md §8). */
import { loadWorkerConfig } from '../src/config';

const base = { DEVHOOKS_REDIS_URL: 'redis://127.0.0.1:6379' };

it('reads the hold bound, 10,000 by default', () => {
  expect(loadWorkerConfig(base).orderHoldMax).toBe(10_000);
  expect(loadWorkerConfig({ ...base, DEVHOOKS_ORDER_HOLD_MAX: '250' }).orderHoldMax).toBe(250);
});

it('refuses a bound that is not a positive integer, naming the variable', () => {
  for (const v of ['0', '-5', 'many', '1.5'])
    expect(() => loadWorkerConfig({ ...base, DEVHOOKS_ORDER_HOLD_MAX: v })).toThrow(/DEVHOOKS_ORDER_HOLD_MAX/);
});
