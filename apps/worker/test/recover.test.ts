/**
 * Recover (contract §9): every `failed` delivery of a webhook created in the window gets one new
 * attempt, recorded in its attempt log, also after the webhook was disabled and enabled again;
 * deliveries outside the window, of other webhooks, or not failed are left alone.
 */
import { eventually } from '../../../test/support/receiver';
import { startStack, type Stack } from '../../../test/support/stack';

let s: Stack;
beforeAll(async () => {
  // one attempt only: a 500 fails the delivery at once
  s = await startStack(__filename, { api: { DEVHOOKS_RETRY_SCHEDULE: '0' }, worker: { DEVHOOKS_RETRY_SCHEDULE: '0' } });
});
afterAll(async () => {
  await s.close();
});

const event = (id: string) => ({ id, type: 'device-status-changed', data: { id: 'dev', status: 'accepted' } });

async function deliveries(webhookId: string, query = '') {
  const r = await s.api.call('GET', `/v1/webhooks/${webhookId}/deliveries?limit=200${query}`, { token: s.org.key });
  return r.body.deliveries as Array<{ id: string; status: string; attempts: number; event_ids: string[] }>;
}

const recover = (id: string, body: object) =>
  s.api.call('POST', `/v1/webhooks/${id}/recover`, { token: s.org.key, body });

it('retries every failed delivery of the window once, after a disable and re-enable', async () => {
  const w = await s.webhook({ url: s.rx.url('/down'), topics: ['deviceauth'] });
  const other = await s.webhook({ url: s.rx.url('/other'), topics: ['deviceauth'] });
  let down = true;
  s.rx.respond = (r) => (r.path === '/down' && down ? { status: 500 } : {});
  const since = new Date(Date.now() - 1_000).toISOString();
  for (let i = 0; i < 5; i++) await s.send(event(`evt-rec-${i}`));
  await eventually(async () => (await deliveries(w.id, '&status=failed')).length === 5 || undefined);
  await eventually(async () => (await deliveries(other.id, '&status=succeeded')).length === 5 || undefined);

  // the operator disables the webhook during the outage, then enables it again
  await s.api.call('PATCH', `/v1/webhooks/${w.id}`, { token: s.org.key, body: { enabled: false } });
  await s.api.call('PATCH', `/v1/webhooks/${w.id}`, { token: s.org.key, body: { enabled: true } });
  down = false;
  const before = s.rx.on('/down').length;
  const r = await recover(w.id, { since });
  expect(r.status).toBe(202);
  expect(r.body).toEqual({ deliveries: 5 });

  await s.rx.waitOn('/down', before + 5);
  const done = await eventually(async () => {
    const list = await deliveries(w.id);
    return list.every((d) => d.status === 'succeeded') ? list : undefined;
  });
  expect(done.map((d) => d.attempts)).toEqual([2, 2, 2, 2, 2]);
  const detail = await s.api.call('GET', `/v1/deliveries/${done[0].id}`, { token: s.org.key });
  expect(detail.body.attempt_log.map((a: { status_code: number }) => a.status_code)).toEqual([500, 200]);
  expect(detail.body.attempt_log[1].trigger).toBe('recover');
  // the same webhook-id as the first attempt: receivers dedupe on it
  const ids = s.rx.on('/down').map((q) => q.headers['webhook-id']);
  expect(new Set(ids).size).toBe(5);
  // nothing else was sent again
  expect(s.rx.on('/other')).toHaveLength(5);
  s.rx.respond = undefined;
});

it('leaves deliveries outside the window alone', async () => {
  const w = await s.webhook({ url: s.rx.url('/old'), topics: ['deviceauth'] });
  s.rx.respond = (r) => (r.path === '/old' ? { status: 500 } : {});
  await s.send(event('evt-rec-old'));
  await eventually(async () => (await deliveries(w.id, '&status=failed')).length === 1 || undefined);
  const later = Date.now() + 60_000;
  const r = await recover(w.id, { since: new Date(later).toISOString(), until: new Date(later + 1).toISOString() });
  expect(r.body).toEqual({ deliveries: 0 });
  const r2 = await recover(w.id, { since: '2020-01-01T00:00:00Z', until: '2020-01-02T00:00:00Z' });
  expect(r2.body).toEqual({ deliveries: 0 });
  expect((await deliveries(w.id))[0]).toMatchObject({ status: 'failed', attempts: 1 });
  s.rx.respond = undefined;
});

it("paces the new attempts by the webhook's rate_limit, using no attempt to wait", async () => {
  const LIMIT = 2;
  const N = 10;
  const w = await s.webhook({ url: s.rx.url('/limited'), topics: ['deviceauth'], rate_limit: LIMIT });
  let down = true;
  s.rx.respond = (r) => (r.path === '/limited' && down ? { status: 500 } : {});
  const since = new Date(Date.now() - 1_000).toISOString();
  await s.send({ events: Array.from({ length: N }, (_, i) => event(`evt-rec-rl-${i}`)) });
  await eventually(async () => (await deliveries(w.id, '&status=failed')).length === N || undefined, 30_000);
  down = false;
  const before = s.rx.on('/limited').length;
  const r = await recover(w.id, { since });
  expect(r.body).toEqual({ deliveries: N });
  const all = await s.rx.waitOn('/limited', before + N, 30_000);
  // the recovered attempts: at most the limit per second, one second of burst allowed
  const times = all.slice(before).map((q) => q.at);
  const busiest = Math.max(...times.map((t) => times.filter((u) => u >= t && u < t + 1_000).length));
  expect(busiest).toBeLessThanOrEqual(2 * LIMIT);
  const done = await eventually(async () => {
    const list = await deliveries(w.id);
    return list.every((d) => d.status === 'succeeded') ? list : undefined;
  }, 30_000);
  expect(done.map((d) => d.attempts)).toEqual(Array(N).fill(2));
  s.rx.respond = undefined;
}, 90_000);
