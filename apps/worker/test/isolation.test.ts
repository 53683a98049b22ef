/**
 * Isolation (issue: a webhook that hangs must not slow the others): per-endpoint concurrency and a
 * circuit breaker that sends an endpoint that keeps timing out to the retry path.
 */
import { eventually, Receiver } from '../../../test/support/receiver';
import { decommissions, hangingAndHealthy } from '../../../test/support/isolation';
import { startStack, type Stack } from '../../../test/support/stack';

let s: Stack;
let hanging: Receiver;
beforeAll(async () => {
  s = await startStack(__filename, {
    worker: { DEVHOOKS_DELIVERY_TIMEOUT: '300ms', DEVHOOKS_ENDPOINT_CONCURRENCY: '2', DEVHOOKS_RETRY_SCHEDULE: '0,1h' },
    api: { DEVHOOKS_RETRY_SCHEDULE: '0,1h' },
  });
  hanging = await Receiver.start();
  hanging.respond = () => ({ hang: true });
});
afterAll(async () => {
  await s.close();
  await hanging.close();
});

it('a hanging endpoint times out, opens its breaker, and the healthy one gets everything', async () => {
  const { bad, good } = await hangingAndHealthy(s, hanging);
  const N = 30;
  await s.send(decommissions(N, 'e'));
  await s.rx.waitOn('/ok', N);
  const list = await eventually(async () => {
    const r = await s.api.call('GET', `/v1/webhooks/${bad.id}/deliveries?limit=200`, { token: s.org.key });
    return r.body.total === N && r.body.deliveries.every((d: { attempts: number }) => d.attempts === 1) ? r : undefined;
  }, 20_000);
  const errors = list.body.deliveries.map((d: { error: string }) => d.error);
  expect(errors).toContain('timeout');
  expect(errors).toContain('circuit_open');
  // the breaker kept most of them from ever connecting
  expect(hanging.requests.length).toBeLessThan(N);
  // all of them wait on the retry path, none lost
  expect(list.body.deliveries.every((d: { status: string }) => d.status === 'pending')).toBe(true);
  const okList = await s.api.call('GET', `/v1/webhooks/${good.id}/deliveries?status=succeeded`, { token: s.org.key });
  expect(okList.body.total).toBe(N);
});
