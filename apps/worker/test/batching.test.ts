/** Mist-style batching (docs/contract.md §6): per webhook and topic, at most 100 events, one webhook-id. */
import { eventually } from '../../../test/support/receiver';
import { startStack, type Stack } from '../../../test/support/stack';

let s: Stack;
beforeAll(async () => {
  s = await startStack(__filename, { worker: { DEVHOOKS_BATCH_WINDOW: '300ms' } });
});
afterAll(() => s.close());

const audit = (n: number) => ({ id: `aud-${n}`, type: 'audit', data: { id: `a${n}`, message: `m${n}`, timestamp: n } });

it('batches events of one topic for one webhook into one delivery with one webhook-id', async () => {
  const w = await s.webhook({ url: s.rx.url('/batched'), topics: ['audits', 'alarms'] });
  await s.send({ events: [1, 2, 3, 4, 5].map(audit) });
  await s.send({ id: 'alarm-1', type: 'alarm', data: { type: 'device_down', timestamp: 1 } });
  const reqs = await s.rx.waitOn('/batched', 2);
  const byTopic = Object.fromEntries(reqs.map((r) => [JSON.parse(r.body).topic, r]));
  expect(JSON.parse(byTopic.audits.body).events.map((e: { id: string }) => e.id)).toEqual([
    'a1',
    'a2',
    'a3',
    'a4',
    'a5',
  ]);
  expect(byTopic.audits.headers['webhook-id']).toMatch(/^msg_/);
  // a batch of one event carries that event's id
  expect(byTopic.alarms.headers['webhook-id']).toBe('alarm-1');
  // the log is written just after the attempt: wait for it
  const list = await eventually(async () => {
    const r = await s.api.call('GET', `/v1/webhooks/${w.id}/deliveries?topic=audits`, { token: s.org.key });
    return r.body.total === 1 ? r : undefined;
  });
  expect(list.body.deliveries[0]).toMatchObject({
    event_ids: ['aud-1', 'aud-2', 'aud-3', 'aud-4', 'aud-5'],
    message_id: byTopic.audits.headers['webhook-id'],
  });
});

it('never puts more than 100 events in one delivery', async () => {
  await s.webhook({ url: s.rx.url('/big'), topics: ['audits'] });
  const events = Array.from({ length: 250 }, (_, i) => audit(1000 + i));
  await s.send({ events });
  const seen = new Set<string>();
  const deadline = Date.now() + 15_000;
  while (seen.size < 250 && Date.now() < deadline) {
    for (const r of s.rx.on('/big')) for (const e of JSON.parse(r.body).events) seen.add(e.id);
    await new Promise((r) => setTimeout(r, 50));
  }
  expect(seen.size).toBe(250);
  const sizes = s.rx.on('/big').map((r) => JSON.parse(r.body).events.length);
  expect(Math.max(...sizes)).toBeLessThanOrEqual(100);
  expect(sizes.reduce((a, b) => a + b, 0)).toBe(250);
});

it('single_event_per_message sends each event on its own, webhook-id = event id', async () => {
  await s.webhook({ url: s.rx.url('/single'), topics: ['audits'], single_event_per_message: true });
  await s.send({ events: [7, 8, 9].map(audit) });
  const reqs = await s.rx.waitOn('/single', 3);
  expect(reqs.map((r) => r.headers['webhook-id']).sort()).toEqual(['aud-7', 'aud-8', 'aud-9']);
  for (const r of reqs) expect(JSON.parse(r.body).events).toHaveLength(1);
});
