/** Contract §5 end to end: org, site and group matching; disabled webhooks and other orgs get nothing. */
import { startStack, type Stack } from '../../../test/support/stack';

let s: Stack;
beforeAll(async () => {
  s = await startStack(__filename);
});
afterAll(() => s.close());

it('delivers each event to exactly the matching webhooks of its org', async () => {
  const hook = (path: string, extra: Record<string, unknown> = {}) =>
    s.webhook({ url: s.rx.url(path), topics: ['deviceauth'], ...extra });
  await hook('/org');
  await hook('/site-a', { site_id: 'a' });
  await hook('/site-b', { site_id: 'b' });
  await hook('/group-g', { group_id: 'g' });
  await hook('/site-a-group-g', { site_id: 'a', group_id: 'g' });
  await hook('/disabled', { enabled: false });
  await hook('/other-topic', { topics: ['inventory'] });
  const other = await s.api.org('other', 'admin');
  const r = await s.api.call('POST', '/v1/webhooks', {
    token: other.key,
    body: { name: 'theirs', url: s.rx.url('/other-org'), topics: ['deviceauth'] },
  });
  expect(r.status).toBe(201);

  const ev = (id: string, scope: Record<string, string>) => ({
    id,
    type: 'device-decommissioned',
    data: { id: 'd' },
    ...scope,
  });
  await s.send({
    events: [
      ev('none', {}),
      ev('a', { site_id: 'a' }),
      ev('a-g', { site_id: 'a', group_id: 'g' }),
      ev('b-g', { site_id: 'b', group_id: 'g' }),
      ev('g', { group_id: 'g' }),
    ],
  });
  const expected: Record<string, string[]> = {
    '/org': ['a', 'a-g', 'b-g', 'g', 'none'],
    '/site-a': ['a', 'a-g'],
    '/site-b': ['b-g'],
    '/group-g': ['a-g', 'b-g', 'g'],
    '/site-a-group-g': ['a-g'],
  };
  const total = Object.values(expected).reduce((n, l) => n + l.length, 0);
  await s.rx.waitFor(total);
  // give any wrong extra delivery the chance to show up before judging: a ping through the same path
  const probe = await s.webhook({ url: s.rx.url('/probe'), topics: ['alarms'] });
  await s.api.call('POST', `/v1/webhooks/${probe.id}/ping`, { token: s.org.key });
  for (const [path, ids] of Object.entries(expected)) {
    expect(
      s.rx
        .on(path)
        .map((q) => String(q.headers['webhook-id']))
        .sort(),
    ).toEqual(ids);
  }
  for (const path of ['/disabled', '/other-topic', '/other-org']) expect(s.rx.on(path)).toHaveLength(0);
});

it('stops delivering at once when a webhook is disabled or deleted', async () => {
  const w = await s.webhook({ url: s.rx.url('/toggle'), topics: ['alarms'], single_event_per_message: true });
  const alarm = (id: string) => ({ id, type: 'alarm', data: { type: 'device_down', timestamp: 1 } });
  await s.send(alarm('before'));
  await s.rx.waitOn('/toggle', 1);
  expect(
    (await s.api.call('PATCH', `/v1/webhooks/${w.id}`, { token: s.org.key, body: { enabled: false } })).status,
  ).toBe(200);
  await s.send(alarm('while-disabled'));
  expect(
    (await s.api.call('PATCH', `/v1/webhooks/${w.id}`, { token: s.org.key, body: { enabled: true } })).status,
  ).toBe(200);
  await s.send(alarm('after'));
  await s.rx.waitOn('/toggle', 2);
  expect((await s.api.call('DELETE', `/v1/webhooks/${w.id}`, { token: s.org.key })).status).toBe(204);
  await s.send(alarm('deleted'));
  const probe = await s.webhook({ url: s.rx.url('/probe2'), topics: ['alarms'], single_event_per_message: true });
  await s.send(alarm('probe'));
  await s.rx.waitOn('/probe2', 1);
  expect(s.rx.on('/toggle').map((q) => q.headers['webhook-id'])).toEqual(['before', 'after']);
  expect(probe.id).toBeTruthy();
});
