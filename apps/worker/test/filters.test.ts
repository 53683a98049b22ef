/**
 * Webhook filters (contract §9) at fan-out: a webhook with a filter gets only the events whose type
 * and data meet every condition; one without gets them all; changing the filter takes effect at once.
 */
import { startStack, type Stack } from '../../../test/support/stack';

let s: Stack;
beforeAll(async () => {
  s = await startStack(__filename);
});
afterAll(async () => {
  await s.close();
});

const ids = (path: string) => s.rx.on(path).map((r) => String(r.headers['webhook-id']));
const status = (id: string, st: string, extra: object = {}) => ({
  id,
  type: 'device-status-changed',
  data: { id: `dev-${id}`, status: st, ...extra },
});

it('delivers only what meets every condition; the unfiltered webhook gets everything', async () => {
  await s.webhook({ url: s.rx.url('/all'), topics: ['deviceauth'] });
  const f = await s.webhook({
    url: s.rx.url('/accepted'),
    topics: ['deviceauth'],
    filter: {
      types: ['device-status-changed'],
      data: { status: { $in: ['accepted', 'preauthorized'] }, 'meta.tier': { $ne: 'test' } },
    },
  });
  expect(f.filter.types).toEqual(['device-status-changed']);
  await s.send({
    events: [
      status('f1', 'accepted'),
      status('f2', 'rejected'),
      { id: 'f3', type: 'device-provisioned', data: { id: 'd3', status: 'accepted' } },
      status('f4', 'preauthorized', { meta: { tier: 'prod' } }),
      status('f5', 'accepted', { meta: { tier: 'test' } }),
    ],
  });
  await s.rx.waitOn('/all', 5);
  await s.rx.waitOn('/accepted', 2);
  // f6 is read after f1–f5, whose fan-out was decided when they were read: /accepted has had its share
  await s.send(status('f6', 'accepted'));
  await s.rx.waitOn('/accepted', 3);
  expect(ids('/accepted').sort()).toEqual(['f1', 'f4', 'f6']);
  expect(ids('/all').length).toBeGreaterThanOrEqual(5);
});

it('$exists, and a filter changed by PATCH applies to the next event', async () => {
  const w = await s.webhook({
    url: s.rx.url('/exists'),
    topics: ['deviceauth'],
    filter: { data: { auth_sets: { $exists: true } } },
  });
  await s.send({
    events: [
      { id: 'x1', type: 'device-provisioned', data: { id: 'd1', auth_sets: [] } },
      { id: 'x2', type: 'device-provisioned', data: { id: 'd2' } },
      { id: 'x3', type: 'device-provisioned', data: { id: 'd3', auth_sets: [{ id: 'a' }] } },
    ],
  });
  await s.rx.waitOn('/exists', 2);
  const p = await s.api.call('PATCH', `/v1/webhooks/${w.id}`, {
    token: s.org.key,
    body: { filter: { data: { auth_sets: { $exists: false } } } },
  });
  expect(p.status).toBe(200);
  await s.send({
    events: [
      { id: 'x4', type: 'device-provisioned', data: { id: 'd4', auth_sets: [] } },
      { id: 'x5', type: 'device-provisioned', data: { id: 'd5' } },
    ],
  });
  await s.rx.waitOn('/exists', 3);
  await s.send({ id: 'x6', type: 'device-decommissioned', data: { id: 'd6' } });
  await s.rx.waitOn('/exists', 4);
  expect(ids('/exists').sort()).toEqual(['x1', 'x3', 'x5', 'x6']);
});
