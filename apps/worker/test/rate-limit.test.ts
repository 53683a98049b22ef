/**
 * A webhook's rate_limit (contract §9) holds over all workers together: three workers share one
 * loopback receiver limited to 5 requests a second. The receiver never sees more than the limit in
 * any one-second window, allowing one second of burst (so at most 2 × 5), and every delivery
 * arrives, with one attempt each: waiting used none. The workers' own attempt counters show the
 * deliveries were shared out (at least two of the three sent).
 */
import type { WorkerHost } from '../../../apps/worker/src';
import { eventually } from '../../../test/support/receiver';
import { startStack, type Stack } from '../../../test/support/stack';
import { startTestWorker } from '../../../test/support/worker';

const LIMIT = 5;
const EVENTS = 30;

let s: Stack;
let slowId: string;
const more: WorkerHost[] = [];
beforeAll(async () => {
  s = await startStack(__filename);
  more.push(await startTestWorker(s.prefix), await startTestWorker(s.prefix));
});
afterAll(async () => {
  await Promise.all(more.map((w) => w.stop()));
  await s.close();
});

/** Most requests that arrived within any one second (a window starting at each arrival). */
function busiestSecond(times: number[]): number {
  const t = [...times].sort((a, b) => a - b);
  let best = 0;
  for (let i = 0, j = 0; i < t.length; i++) {
    while (j < t.length && t[j] < t[i] + 1000) j++;
    best = Math.max(best, j - i);
  }
  return best;
}

it('three workers together keep to the limit, and every delivery arrives with one attempt', async () => {
  const w = await s.webhook({ url: s.rx.url('/slow'), topics: ['messages'], rate_limit: LIMIT });
  slowId = w.id;
  const events = Array.from({ length: EVENTS }, (_, i) => ({ id: `evt-rl-${i}`, type: 'message', data: { n: i } }));
  // in three posts, so all three workers read some
  for (let i = 0; i < 3; i++) await s.send({ events: events.slice(i * 10, i * 10 + 10) });

  const reqs = await s.rx.waitOn('/slow', EVENTS, 60_000);
  expect(new Set(reqs.map((r) => r.headers['webhook-id']))).toEqual(new Set(events.map((e) => e.id)));
  expect(busiestSecond(reqs.map((r) => r.at))).toBeLessThanOrEqual(2 * LIMIT);

  const list = await eventually(async () => {
    const r = await s.api.call('GET', `/v1/webhooks/${w.id}/deliveries?limit=200`, { token: s.org.key });
    return r.body.total === EVENTS && r.body.deliveries.every((d: { status: string }) => d.status === 'succeeded')
      ? r.body.deliveries
      : undefined;
  });
  expect(list.map((d: { attempts: number }) => d.attempts)).toEqual(Array(EVENTS).fill(1));
  // the limit held over workers that all sent (not one worker doing everything): attempts that got
  // an answer, by each worker's own counter
  const answered = await Promise.all(
    [s.worker, ...more].map(async (h) => {
      const { values } = await h.runtime.context.metrics.attempts.get();
      return values.filter((v) => v.labels.outcome === 'success').reduce((n, v) => n + v.value, 0);
    }),
  );
  expect(answered.reduce((a, b) => a + b, 0)).toBe(EVENTS);
  expect(answered.filter((n) => n > 0).length).toBeGreaterThanOrEqual(2);
}, 90_000);

it('a webhook without a limit is not held back by one that has one', async () => {
  await s.api.call('PATCH', `/v1/webhooks/${slowId}`, { token: s.org.key, body: { site_id: 'elsewhere' } });
  await s.webhook({ url: s.rx.url('/fast'), topics: ['messages'] });
  await s.send({
    events: Array.from({ length: 20 }, (_, i) => ({ id: `evt-fast-${i}`, type: 'message', data: { i } })),
  });
  const reqs = await s.rx.waitOn('/fast', 20, 30_000);
  expect(reqs).toHaveLength(20);
}, 60_000);
