/** The in-flight gauge keeps its series bounded: the busiest origins, the rest summed as "other". */
import { Registry } from 'prom-client';
import { workerMetrics } from './metrics';
import { InFlightByOrigin, OTHER_ORIGINS } from './origin-in-flight';

async function seriesOf(registry: Registry): Promise<Record<string, number>> {
  const m = await registry.getSingleMetric('devhooks_endpoint_in_flight')!.get();
  return Object.fromEntries(m.values.map((v) => [String(v.labels.origin), v.value]));
}

describe('InFlightByOrigin', () => {
  it('100 origins make at most N + 1 series, the busiest ones kept and the rest summed', async () => {
    const registry = new Registry();
    const tracker = new InFlightByOrigin(20);
    tracker.gauge(registry);
    let total = 0;
    for (let i = 1; i <= 100; i++) {
      tracker.set(`https://rx-${i}.example:443`, i);
      total += i;
    }
    const series = await seriesOf(registry);
    expect(Object.keys(series)).toHaveLength(21);
    for (let i = 81; i <= 100; i++) expect(series[`https://rx-${i}.example:443`]).toBe(i);
    expect(series['https://rx-80.example:443']).toBeUndefined();
    expect(series[OTHER_ORIGINS]).toBe((80 * 81) / 2);
    expect(Object.values(series).reduce((a, b) => a + b, 0)).toBe(total);
  });

  it('drops the series of an origin that left the top or has nothing in flight', async () => {
    const registry = new Registry();
    const tracker = new InFlightByOrigin(2);
    tracker.gauge(registry);
    tracker.set('https://a:443', 5);
    tracker.set('https://b:443', 3);
    expect(await seriesOf(registry)).toEqual({ 'https://a:443': 5, 'https://b:443': 3 });
    tracker.set('https://c:443', 9);
    tracker.set('https://a:443', 0);
    tracker.set('https://d:443', 1);
    expect(await seriesOf(registry)).toEqual({ 'https://c:443': 9, 'https://b:443': 3, [OTHER_ORIGINS]: 1 });
    for (const o of ['https://b:443', 'https://c:443', 'https://d:443']) tracker.set(o, 0);
    expect(await seriesOf(registry)).toEqual({});
  });

  it("is the worker metrics' in-flight gauge, 20 origins by default", async () => {
    const registry = new Registry();
    const m = workerMetrics(registry);
    expect(m.inFlight.top).toBe(20);
    for (let i = 0; i < 100; i++) m.inFlight.set(`http://127.0.0.1:${10_000 + i}`, 1);
    const series = await seriesOf(registry);
    expect(Object.keys(series)).toHaveLength(21);
    expect(series[OTHER_ORIGINS]).toBe(80);
  });
});
