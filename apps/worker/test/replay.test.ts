/**
 * Replay (contract §9): events accepted in a window that match the webhook now (topics, site, group,
 * filter, asked-for types) are delivered to it again, with the same webhook-id as their first
 * delivery for single-event bodies; the producer-id duplicate window does not swallow them; a window
 * the event log no longer holds is 422 saying how far back it can go.
 */
import { redisKeys, type Webhook } from '@devhooks/core';
import { replayEvents } from '@devhooks/engine';
import { eventually } from '../../../test/support/receiver';
import { startStack, type Stack } from '../../../test/support/stack';

let s: Stack;
beforeAll(async () => {
  s = await startStack(__filename);
});
afterAll(async () => {
  await s.close();
});

const status = (id: string, st: string, device = 'dev-1') => ({
  id,
  type: 'device-status-changed',
  data: { id: device, status: st },
});
const replay = (id: string, body: object) =>
  s.api.call('POST', `/v1/webhooks/${id}/replay`, { token: s.org.key, body });
const webhookIds = (path: string) => s.rx.on(path).map((r) => String(r.headers['webhook-id']));

let since: string;
let hook: { id: string };

beforeAll(async () => {
  hook = await s.webhook({ url: s.rx.url('/a'), topics: ['deviceauth', 'audits'], site_id: 'site-1' });
  since = new Date(Date.now() - 1_000).toISOString();
  await s.send({
    events: [
      { ...status('evt-r1', 'accepted'), site_id: 'site-1' },
      { ...status('evt-r2', 'rejected'), site_id: 'site-1' },
      { id: 'evt-r3', type: 'device-provisioned', data: { id: 'dev-3' }, site_id: 'site-1' },
      { ...status('evt-r4', 'accepted'), site_id: 'site-2' }, // another site: never for /a
      { type: 'audit', data: { id: 'a-1', message: 'm', timestamp: 1 }, site_id: 'site-1' },
    ],
  });
  // another org's event of the same topic and site, in the same window: never replayed to /a
  const other = await s.api.org('other', 'producer');
  const sent = await s.api.call('POST', '/v1/events', {
    token: other.key,
    body: { ...status('evt-other', 'accepted'), site_id: 'site-1' },
  });
  expect(sent.status).toBe(202);
  await s.rx.waitOn('/a', 4);
});

it('delivers the window again with the same webhook-id, and only what matches the webhook', async () => {
  const first = webhookIds('/a');
  const r = await replay(hook.id, { since });
  expect(r.status).toBe(202);
  expect(r.body).toEqual({ events: 4 });
  await s.rx.waitOn('/a', 8);
  const again = webhookIds('/a').slice(4);
  // the audit went out alone in its Mist batch: a one-event batch carries the event's id, both times
  expect(again.sort()).toEqual(first.sort());
  expect(again).not.toContain('evt-r4');
  expect(again).not.toContain('evt-other');
  // bodies are built as usual
  const bodies = s.rx.on('/a').map((q) => q.body);
  expect(bodies.slice(4).sort()).toEqual(bodies.slice(0, 4).sort());
});

it('types narrow a replay; copies are never replayed themselves', async () => {
  const n = s.rx.on('/a').length;
  const r = await replay(hook.id, { since, types: ['device-provisioned'] });
  expect(r.body).toEqual({ events: 1 });
  await s.rx.waitOn('/a', n + 1);
  expect(webhookIds('/a')[n]).toBe('evt-r3');
  // the window now also holds the copies of the first replay: still 4 events
  expect((await replay(hook.id, { since })).body).toEqual({ events: 4 });
  await s.rx.waitOn('/a', n + 5);
});

it('a webhook created later gets the history that matches its filter', async () => {
  const late = await s.webhook({
    url: s.rx.url('/late'),
    topics: ['deviceauth'],
    filter: { types: ['device-status-changed'], data: { status: 'accepted' } },
  });
  const r = await replay(late.id, { since });
  expect(r.body).toEqual({ events: 2 }); // evt-r1 (site-1) and evt-r4 (site-2): the webhook is org-wide
  await s.rx.waitOn('/late', 2);
  expect(webhookIds('/late').sort()).toEqual(['evt-r1', 'evt-r4']);
  const list = await eventually(async () => {
    const l = await s.api.call('GET', `/v1/webhooks/${late.id}/deliveries`, { token: s.org.key });
    return l.body.total === 2 && l.body.deliveries.every((d: { status: string }) => d.status === 'succeeded') && l;
  });
  expect(list.body.deliveries.map((d: { event_ids: string[] }) => d.event_ids[0]).sort()).toEqual(['evt-r1', 'evt-r4']);
});

it('a window past the bound changes nothing', async () => {
  const raw = await s.redis.hget(redisKeys(s.prefix).orgWebhooks(s.org.id), hook.id);
  const webhook = JSON.parse(raw!) as Webhook;
  const len = await s.redis.xlen(s.keys.shard(0).stream);
  const out = await replayEvents(s.redis, s.keys, {
    webhook,
    since: Date.parse(since),
    until: Date.now(),
    shards: 1,
    maxBacklog: 0,
    max: 1,
  });
  expect(out).toEqual({ ok: false, reason: 'too_many', max: 1 });
  expect(await s.redis.xlen(s.keys.shard(0).stream)).toBe(len);
});

it('a window older than the event log holds is 422 naming the oldest time it can replay', async () => {
  await eventually(async () => Number((await s.redis.get(s.keys.shard(0).backlog)) ?? 0) === 0 || undefined);
  // what upkeep does once DEVHOOKS_LOG_TTL has passed: trim the stream
  const cut = Date.now();
  await s.redis.xtrim(s.keys.shard(0).stream, 'MINID', `${cut}-0`);
  const len = await s.redis.xlen(s.keys.shard(0).stream);
  const r = await replay(hook.id, { since });
  expect(r.status).toBe(422);
  expect(r.body.error.code).toBe('beyond_event_log');
  const oldest = /from (\S+) on/.exec(r.body.error.message)![1];
  expect(Date.parse(oldest)).toBeGreaterThan(Date.parse(since));
  expect(Date.parse(oldest)).toBeLessThanOrEqual(cut);
  expect(await s.redis.xlen(s.keys.shard(0).stream)).toBe(len);
  const ok = await replay(hook.id, { since: oldest });
  expect(ok.status).toBe(202);
});
