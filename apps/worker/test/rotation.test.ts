/**
 * Secret rotation (contract §9) end to end: during the grace period a `standard` delivery carries
 * `v1,<new> v1,<old>` and the standardwebhooks library verifies it with either secret; after the
 * grace (or with grace 0, or a secret set by PATCH) only the new one signs; mender switches at once.
 */
import { createHmac } from 'node:crypto';
import { Webhook as StandardWebhook } from 'standardwebhooks';
import type { Received } from '../../../test/support/receiver';
import { startStack, type Stack } from '../../../test/support/stack';

let s: Stack;
beforeAll(async () => {
  s = await startStack(__filename);
});
afterAll(async () => {
  await s.close();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const headersOf = (r: Received) => ({
  'webhook-id': String(r.headers['webhook-id']),
  'webhook-timestamp': String(r.headers['webhook-timestamp']),
  'webhook-signature': String(r.headers['webhook-signature']),
});
const verifies = (secret: string, r: Received) => {
  try {
    new StandardWebhook(secret).verify(r.body, headersOf(r));
    return true;
  } catch {
    return false;
  }
};

async function deliverOne(path: string, id: string): Promise<Received> {
  const n = s.rx.on(path).length;
  await s.send({ id, type: 'device-status-changed', data: { id: 'dev-1', status: 'accepted' } });
  const reqs = await s.rx.waitOn(path, n + 1);
  return reqs[n];
}

async function rotate(id: string, body: object) {
  const r = await s.api.call('POST', `/v1/webhooks/${id}/rotate-secret`, { token: s.org.key, body });
  expect(r.status).toBe(200);
  return r.body as { secret: string; previous_expires_at: string | null };
}

it('standard: both signatures during the grace, verified with the old and the new secret', async () => {
  const w = await s.webhook({ url: s.rx.url('/std'), topics: ['deviceauth'] });
  const before = await deliverOne('/std', 'evt-rot-0');
  expect(String(before.headers['webhook-signature']).split(' ')).toHaveLength(1);

  const rot = await rotate(w.id, {});
  const during = await deliverOne('/std', 'evt-rot-1');
  const sigs = String(during.headers['webhook-signature']).split(' ');
  expect(sigs).toHaveLength(2);
  expect(sigs.every((x) => x.startsWith('v1,'))).toBe(true);
  expect(verifies(rot.secret, during)).toBe(true);
  expect(verifies(w.secret, during)).toBe(true);
  expect(verifies('whsec_' + Buffer.alloc(32, 1).toString('base64'), during)).toBe(false);
  // new first: a receiver that checks only the first signature has already switched
  const only = (sig: string) => ({ ...headersOf(during), 'webhook-signature': sig });
  expect(() => new StandardWebhook(rot.secret).verify(during.body, only(sigs[0]))).not.toThrow();
  expect(() => new StandardWebhook(w.secret).verify(during.body, only(sigs[1]))).not.toThrow();
});

it('an expired previous secret no longer signs (checked when signing, no reload needed)', async () => {
  const w = await s.webhook({ url: s.rx.url('/short'), topics: ['deviceauth'] });
  const rot = await rotate(w.id, { grace: '1s' });
  await sleep(1_200);
  const after = await deliverOne('/short', 'evt-rot-2');
  expect(String(after.headers['webhook-signature']).split(' ')).toHaveLength(1);
  expect(verifies(rot.secret, after)).toBe(true);
  expect(verifies(w.secret, after)).toBe(false);
});

it('grace 0 and a secret set by PATCH switch at once', async () => {
  const w = await s.webhook({ url: s.rx.url('/now'), topics: ['deviceauth'] });
  const rot = await rotate(w.id, { grace: 0 });
  const r1 = await deliverOne('/now', 'evt-rot-3');
  expect(verifies(rot.secret, r1)).toBe(true);
  expect(verifies(w.secret, r1)).toBe(false);

  await rotate(w.id, {}); // a rotation in progress …
  const patched = 'whsec_' + Buffer.alloc(32, 5).toString('base64');
  await s.api.call('PATCH', `/v1/webhooks/${w.id}`, { token: s.org.key, body: { secret: patched } });
  const r2 = await deliverOne('/now', 'evt-rot-4'); // … ended by the PATCH
  expect(String(r2.headers['webhook-signature']).split(' ')).toHaveLength(1);
  expect(verifies(patched, r2)).toBe(true);
});

it('mender: one signature, the new secret at once', async () => {
  await s.webhook({ url: s.rx.url('/men'), topics: ['deviceauth'], signing: 'mender', secret: 'abcd' });
  const list = await s.api.call('GET', '/v1/webhooks', { token: s.org.key });
  const id = list.body.webhooks.find((x: { url: string }) => x.url.endsWith('/men')).id;
  const rot = await rotate(id, {});
  expect(rot.previous_expires_at).toBeNull();
  const r = await deliverOne('/men', 'evt-rot-5');
  const expected = createHmac('sha256', Buffer.from(rot.secret, 'hex')).update(r.body).digest('hex');
  expect(r.headers['x-men-signature']).toBe(expected);
});
