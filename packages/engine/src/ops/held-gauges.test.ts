/** The held-delivery gauges of ordered delivery, read from a real Redis at scrape time. */
import { Registry } from 'prom-client';
import { redisForTestFile } from '../../../../test/support/redis';
import { heldGauges } from './held-gauges';

const { keys, redis } = redisForTestFile(__filename);

const valuesOf = async (registry: Registry, name: string) =>
  Object.fromEntries((await registry.getSingleMetric(name)!.get()).values.map((v) => [v.labels.stream, v.value]));

it('reports the held deliveries and the oldest hold age per stream, 0 when none is held', async () => {
  const registry = new Registry();
  heldGauges(registry, redis, keys, 2);
  const [s0, s1] = [keys.shard(0), keys.shard(1)];
  const now = Date.now();
  await redis.zadd(s1.orderHeld, now - 90_000, 'dlv_a', now - 5_000, 'dlv_b');
  expect(await valuesOf(registry, 'devhooks_held_deliveries')).toEqual({ [s0.stream]: 0, [s1.stream]: 2 });
  const age = await valuesOf(registry, 'devhooks_oldest_hold_age_seconds');
  expect(age[s0.stream]).toBe(0);
  expect(age[s1.stream]).toBeGreaterThanOrEqual(90);
  expect(age[s1.stream]).toBeLessThan(120);
  const text = await registry.metrics();
  expect(text).toContain('# TYPE devhooks_held_deliveries gauge');
  expect(text).toContain('# TYPE devhooks_oldest_hold_age_seconds gauge');
});
