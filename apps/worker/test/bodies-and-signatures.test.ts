/**
 * Every topic's body and every signing scheme, checked at a loopback receiver: `standard` with the
 * published standardwebhooks library, `mender` and `mist` with node:crypto by the schemes' own rules.
 */
import { createHmac } from 'node:crypto';
import { Webhook as StandardWebhook } from 'standardwebhooks';
import { startStack, type Stack } from '../../../test/support/stack';

let s: Stack;
beforeAll(async () => {
  s = await startStack(__filename);
});
afterAll(() => s.close());

const hmacHex = (alg: 'sha256' | 'sha1', key: Buffer, body: string) => createHmac(alg, key).update(body).digest('hex');

it('deviceauth: Mender envelope, standard signature verified by standardwebhooks', async () => {
  const w = await s.webhook({ url: s.rx.url('/std'), topics: ['deviceauth'], headers: { 'X-Api-Key': 'k-123' } });
  await s.send({
    id: 'evt-std-1',
    type: 'device-status-changed',
    data: { id: 'dev-1', status: 'accepted' },
    time: '2022-09-13T10:03:47.746805235Z',
  });
  await s.rx.waitFor(1);
  const [req] = s.rx.on('/std');
  expect(req.body).toBe(
    '{"id":"evt-std-1","type":"device-status-changed","data":{"id":"dev-1","status":"accepted"},"time":"2022-09-13T10:03:47.746805235Z"}',
  );
  expect(req.headers['content-type']).toBe('application/json');
  expect(req.headers['user-agent']).toMatch(/^devhooks\/\d+\.\d+\.\d+$/);
  expect(req.headers['x-api-key']).toBe('k-123');
  expect(req.headers['webhook-id']).toBe('evt-std-1');
  const verified = new StandardWebhook(w.secret).verify(req.body, {
    'webhook-id': String(req.headers['webhook-id']),
    'webhook-timestamp': String(req.headers['webhook-timestamp']),
    'webhook-signature': String(req.headers['webhook-signature']),
  });
  expect(verified).toEqual(JSON.parse(req.body));
  expect(() =>
    new StandardWebhook(w.secret).verify(req.body + ' ', {
      'webhook-id': String(req.headers['webhook-id']),
      'webhook-timestamp': String(req.headers['webhook-timestamp']),
      'webhook-signature': String(req.headers['webhook-signature']),
    }),
  ).toThrow();
});

it('inventory: Mender envelope, mender signature (hex key, HMAC-SHA256 of the raw body)', async () => {
  const secret = '00112233445566778899aabbccddeeff';
  await s.webhook({ url: s.rx.url('/mender'), topics: ['inventory'], signing: 'mender', secret });
  const data = { device_id: 'dev-2', inventory: [{ name: 'kernel', value: 'Linux', scope: 'inventory' }] };
  await s.send({ id: 'evt-inv-1', type: 'devices-inventory-changed', data, time: '2024-10-04T08:13:03.570584412Z' });
  const req = (await s.rx.waitOn('/mender', 1))[0];
  expect(JSON.parse(req.body)).toEqual({
    id: 'evt-inv-1',
    type: 'devices-inventory-changed',
    data,
    time: '2024-10-04T08:13:03.570584412Z',
  });
  expect(req.headers['x-men-signature']).toBe(hmacHex('sha256', Buffer.from(secret, 'hex'), req.body));
  expect(req.headers['x-men-algorithm']).toBe('MEN-HMAC-SHA256-Payload');
  expect(req.headers['webhook-signature']).toBeUndefined();
});

it('audits, device-events, alarms: Mist envelope, both mist signatures (UTF-8 key)', async () => {
  const secret = 'mist secret ✓';
  await s.webhook({ url: s.rx.url('/mist'), topics: ['audits', 'device-events', 'alarms'], signing: 'mist', secret });
  await s.send({
    events: [
      { type: 'audit', data: { id: 'a-1', message: 'Delete WLAN', timestamp: 1549049281.790302, site_id: null } },
      { type: 'device-event', data: { type: 'AP_RESTARTED', timestamp: 1548095795, ap: '5c5b355003cf' } },
      { type: 'alarm', data: { type: 'device_down', timestamp: 1625661567.201274, count: 2 } },
    ],
  });
  const reqs = await s.rx.waitOn('/mist', 3);
  const bodies = reqs.map((r) => JSON.parse(r.body)).sort((a, b) => a.topic.localeCompare(b.topic));
  expect(bodies).toEqual([
    { topic: 'alarms', events: [{ type: 'device_down', timestamp: 1625661567.201274, count: 2 }] },
    { topic: 'audits', events: [{ id: 'a-1', message: 'Delete WLAN', timestamp: 1549049281.790302, site_id: null }] },
    { topic: 'device-events', events: [{ type: 'AP_RESTARTED', timestamp: 1548095795, ap: '5c5b355003cf' }] },
  ]);
  for (const r of reqs) {
    expect(r.headers['x-mist-signature-v2']).toBe(hmacHex('sha256', Buffer.from(secret, 'utf8'), r.body));
    expect(r.headers['x-mist-signature']).toBe(hmacHex('sha1', Buffer.from(secret, 'utf8'), r.body));
  }
});

it('messages: the data as it is (Mainflux), no signature when a mender webhook has no secret', async () => {
  await s.webhook({ url: s.rx.url('/raw'), topics: ['messages'], signing: 'mender' });
  const data = { config: { content_type: 'application/json', write: true, webhook: true, smtp_id: '' } };
  await s.send({ type: 'message', data });
  const [req] = await s.rx.waitOn('/raw', 1);
  expect(req.body).toBe(JSON.stringify(data));
  expect(req.headers['x-men-signature']).toBeUndefined();
  expect(req.headers['webhook-signature']).toBeUndefined();
  expect(req.headers['webhook-id']).toBeTruthy();
  expect(req.headers['webhook-timestamp']).toMatch(/^\d+$/);
});

it('ping: a Mist-shaped ping to that webhook only, signed', async () => {
  const w = await s.webhook({ name: 'pinged', url: s.rx.url('/ping'), topics: ['alarms'], site_id: 'site-9' });
  await s.webhook({ name: 'bystander', url: s.rx.url('/bystander'), topics: ['alarms'] });
  const r = await s.api.call('POST', `/v1/webhooks/${w.id}/ping`, { token: s.org.key });
  expect(r.status).toBe(200);
  expect(r.body).toMatchObject({ status: 'succeeded', status_code: 200 });
  const [req] = await s.rx.waitOn('/ping', 1);
  const body = JSON.parse(req.body);
  expect(body).toEqual({
    topic: 'ping',
    events: [{ id: w.id, name: 'pinged', site_id: 'site-9', timestamp: expect.any(Number) }],
  });
  expect(new StandardWebhook(w.secret).verify(req.body, req.headers as Record<string, string>)).toEqual(body);
  expect(s.rx.on('/bystander')).toHaveLength(0);
});
