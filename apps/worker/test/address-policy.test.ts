/**
 * The address policy at attempt time (docs/contract.md §6): a worker without DEVHOOKS_ALLOW_PRIVATE_TARGETS
 * refuses to dial loopback, whether the url names an address or a name that resolves to one, and
 * never connects. (The API here allows private targets, standing in for a name that resolved to a
 * public address when the webhook was created.) Only loopback is ever involved.
 */
import { eventually } from '../../../test/support/receiver';
import { startStack, type Stack } from '../../../test/support/stack';

let s: Stack;
beforeAll(async () => {
  s = await startStack(__filename, { worker: { DEVHOOKS_ALLOW_PRIVATE_TARGETS: 'false' } });
});
afterAll(() => s.close());

it.each([
  ['an address literal', (port: number) => `http://127.0.0.1:${port}/literal`],
  ['a name resolving to loopback', (port: number) => `http://localhost:${port}/name`],
  ['an IPv4-mapped IPv6 literal', (port: number) => `http://[::ffff:127.0.0.1]:${port}/mapped`],
])('refuses %s without connecting (blocked_address), and does not retry', async (_label, url) => {
  const w = await s.webhook({ url: url(s.rx.port), topics: ['deviceauth'] });
  await s.send({ type: 'device-decommissioned', data: { id: 'd' } });
  const d = await eventually(async () => {
    const r = await s.api.call('GET', `/v1/webhooks/${w.id}/deliveries`, { token: s.org.key });
    return r.body.deliveries[0]?.status === 'failed' ? r.body.deliveries[0] : undefined;
  });
  expect(d).toMatchObject({ error: 'blocked_address', status_code: null, attempts: 1 });
  const detail = await s.api.call('GET', `/v1/deliveries/${d.id}`, { token: s.org.key });
  expect(detail.body.attempt_log[0].error_message).toMatch(/loopback|refused/);
  expect(s.rx.requests).toHaveLength(0);
});
