/**
 * Defect 4 of issue 13: a webhook's header values (receiver credentials) are write-only. Every read
 * (create, batch create, GET, list, PUT, PATCH) and every delivery detail shows the names with
 * `"***"`, to viewer and admin keys alike; a PUT or PATCH that sends `"***"` back keeps the stored
 * value, which is what the receiver still gets.
 */
import { eventually } from '../../../test/support/receiver';
import { startStack, type Stack } from '../../../test/support/stack';
import { expectError, storedWebhook } from './helpers';

const CRED = 'Bearer receiver-credential-0123';
const TENANT = 'tenant-secret-42';
let s: Stack;
let viewer: string;

beforeAll(async () => {
  s = await startStack(__filename);
  viewer = await s.api.key(s.org.id, 'viewer');
});

afterAll(() => s.close());

const MASKED = { Authorization: '***', 'X-Tenant': '***' };

function hookBody(extra: Record<string, unknown> = {}) {
  return {
    name: 'creds',
    url: s.rx.url('/in'),
    topics: ['alarms'],
    headers: { Authorization: CRED, 'X-Tenant': TENANT },
    ...extra,
  };
}

/** No response text may hold a stored value. */
function expectNoValue(text: string): void {
  expect(text).not.toContain(CRED);
  expect(text).not.toContain('receiver-credential');
  expect(text).not.toContain(TENANT);
}

async function create(): Promise<string> {
  const r = await s.api.call('POST', '/v1/webhooks', { token: s.org.key, body: hookBody() });
  expect(r.status).toBe(201);
  expect(r.body.headers).toEqual(MASKED);
  expectNoValue(r.text);
  return r.body.id;
}

test('create, batch create, GET and list show names and "***", to admin and viewer', async () => {
  const id = await create();
  const batch = await s.api.call('POST', '/v1/webhooks', { token: s.org.key, body: { webhooks: [hookBody()] } });
  expect(batch.status).toBe(201);
  expect(batch.body.webhooks[0].headers).toEqual(MASKED);
  expectNoValue(batch.text);
  for (const token of [s.org.key, viewer]) {
    const one = await s.api.call('GET', `/v1/webhooks/${id}`, { token });
    expect(one.status).toBe(200);
    expect(one.body.headers).toEqual(MASKED);
    expectNoValue(one.text);
    const list = await s.api.call('GET', '/v1/webhooks?limit=200', { token });
    expect(list.status).toBe(200);
    expect(list.body.webhooks.length).toBeGreaterThanOrEqual(2);
    for (const w of list.body.webhooks) expect(w.headers).toEqual(MASKED);
    expectNoValue(list.text);
  }
  expect((await storedWebhook(s.redis, s.prefix, s.org.id, id))!.headers).toEqual({
    Authorization: CRED,
    'X-Tenant': TENANT,
  });
});

test('PUT and PATCH answer masked, and "***" sent back keeps the stored value', async () => {
  const id = await create();
  const put = await s.api.call('PUT', `/v1/webhooks/${id}`, {
    token: s.org.key,
    body: hookBody({ name: 'renamed', headers: { Authorization: '***', 'X-Tenant': 'new-tenant' } }),
  });
  expect(put.status).toBe(200);
  expect(put.body.headers).toEqual(MASKED);
  expectNoValue(put.text);
  expect(put.text).not.toContain('new-tenant');
  expect((await storedWebhook(s.redis, s.prefix, s.org.id, id))!.headers).toEqual({
    Authorization: CRED,
    'X-Tenant': 'new-tenant',
  });

  // a read sent back as it is changes no value
  const read = await s.api.call('GET', `/v1/webhooks/${id}`, { token: s.org.key });
  const patch = await s.api.call('PATCH', `/v1/webhooks/${id}`, {
    token: s.org.key,
    body: { headers: read.body.headers, enabled: false },
  });
  expect(patch.status).toBe(200);
  expect(patch.body.headers).toEqual(MASKED);
  expectNoValue(patch.text);
  expect((await storedWebhook(s.redis, s.prefix, s.org.id, id))!.headers).toEqual({
    Authorization: CRED,
    'X-Tenant': 'new-tenant',
  });
});

test('"***" for a header with no stored value is a 400 that changes nothing', async () => {
  const id = await create();
  const before = await storedWebhook(s.redis, s.prefix, s.org.id, id);
  const r = await s.api.call('PATCH', `/v1/webhooks/${id}`, {
    token: s.org.key,
    body: { headers: { 'X-Other': '***' } },
  });
  expectError(r, 400, 'invalid_request');
  expect(r.body.error.details).toEqual([
    { path: '/headers/X-Other', message: '"***" keeps a stored value, and this header has none' },
  ]);
  expect(await storedWebhook(s.redis, s.prefix, s.org.id, id)).toEqual(before);
});

test('delivery details show the webhook headers masked; the receiver gets the real values', async () => {
  const id = await create();
  const sent = await s.api.call('POST', '/v1/events', {
    token: s.org.key,
    body: { id: 'cred-1', type: 'alarm', data: { type: 'X', timestamp: 1 } },
  });
  expect(sent.status).toBe(202);
  const got = await eventually(() => s.rx.requests.find((r) => r.headers['webhook-id'] === 'cred-1'));
  expect(got.headers.authorization).toBe(CRED);
  expect(got.headers['x-tenant']).toBe(TENANT);
  const delivery = await eventually(async () => {
    const list = await s.api.call('GET', `/v1/webhooks/${id}/deliveries`, { token: s.org.key });
    return list.body.deliveries.find((d: { event_ids: string[] }) => d.event_ids.includes('cred-1'));
  });
  for (const token of [s.org.key, viewer]) {
    const d = await s.api.call('GET', `/v1/deliveries/${delivery.id}`, { token });
    expect(d.status).toBe(200);
    expect(d.body.request.headers).toMatchObject(MASKED);
    expect(d.body.request.headers['webhook-id']).toBe('cred-1');
    expectNoValue(d.text);
  }
});
