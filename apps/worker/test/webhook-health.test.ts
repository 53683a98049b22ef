/**
 * A webhook whose deliveries have all failed for 5 days is disabled (docs/contract.md §6); one success
 * resets the clock.
 */
import { eventually } from '../../../test/support/receiver';
import { startStack, type Stack } from '../../../test/support/stack';

let s: Stack;
beforeAll(async () => {
  s = await startStack(__filename, { api: { DEVHOOKS_RETRY_SCHEDULE: '0' }, worker: { DEVHOOKS_RETRY_SCHEDULE: '0' } });
});
afterAll(() => s.close());

const DAY = 86_400_000;
const event = () => ({ type: 'device-decommissioned', data: { id: 'd' } });

it('disables a webhook failing for more than 5 days, with disabled_reason', async () => {
  const w = await s.webhook({ url: s.rx.url('/failing'), topics: ['deviceauth'] });
  s.rx.respond = () => ({ status: 500 });
  // its deliveries have been failing since 6 days ago
  await s.redis.hset(s.keys.failingSince, w.id, Date.now() - 6 * DAY);
  await s.send(event());
  const read = await eventually(async () => {
    const r = await s.api.call('GET', `/v1/webhooks/${w.id}`, { token: s.org.key });
    return r.body.enabled === false ? r.body : undefined;
  });
  expect(read.disabled_reason).toBe('every delivery has failed for 5 days');
  s.rx.respond = undefined;
});

it('keeps a webhook failing for less than 5 days, and a success clears the clock', async () => {
  const w = await s.webhook({ url: s.rx.url('/recovering'), topics: ['deviceauth'] });
  await s.redis.hset(s.keys.failingSince, w.id, Date.now() - 4 * DAY);
  await s.send(event());
  await s.rx.waitOn('/recovering', 1);
  await eventually(async () => ((await s.redis.hget(s.keys.failingSince, w.id)) === null ? true : undefined));
  const r = await s.api.call('GET', `/v1/webhooks/${w.id}`, { token: s.org.key });
  expect(r.body).toMatchObject({ enabled: true });
  expect(r.body.disabled_reason).toBeUndefined();
});

it('starts the clock at the first failure', async () => {
  const w = await s.webhook({ url: s.rx.url('/first-failure'), topics: ['deviceauth'] });
  s.rx.respond = () => ({ status: 500 });
  await s.send(event());
  const since = await eventually(async () => (await s.redis.hget(s.keys.failingSince, w.id)) ?? undefined);
  expect(Number(since)).toBeGreaterThan(Date.now() - DAY);
  s.rx.respond = undefined;
});
