/**
 * Secrets at rest: with DEVHOOKS_ENCRYPTION_KEY set, no webhook secret or header value is readable
 * anywhere under the prefix (every key of every type dumped), deliveries still sign (verified at a
 * loopback receiver), plain values from before the key are sealed by the re-encryption pass, and a
 * key rotation (NEW + OLD, the pass, then NEW alone) keeps every webhook signing.
 */
import { createHmac, randomBytes } from 'node:crypto';
import { Webhook as StandardWebhook } from 'standardwebhooks';
import type Redis from 'ioredis';
import { keyId, keyPattern, SecretBox, SEALED_PREFIX, type Webhook } from '@devhooks/core';
import { resealWebhookSecrets, WebhookStore } from '@devhooks/engine';
import { startStack, type Stack } from '../../../test/support/stack';

const K1 = randomBytes(32).toString('base64');
const K2 = randomBytes(32).toString('base64');
const key = (b64: string) => Buffer.from(b64, 'base64');

let s: Stack;
beforeAll(async () => {
  s = await startStack(__filename, { api: { DEVHOOKS_ENCRYPTION_KEY: K1 }, worker: { DEVHOOKS_ENCRYPTION_KEY: K1 } });
});
afterAll(() => s.close());

/** Every value of every key under the prefix, as one string. */
async function dump(redis: Redis, prefix: string): Promise<string> {
  const parts: string[] = [];
  for (const pattern of keyPattern(prefix)) {
    let cursor = '0';
    do {
      const [next, batch] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
      cursor = next;
      for (const k of batch) {
        const type = await redis.type(k);
        parts.push(k);
        if (type === 'string') parts.push(String(await redis.get(k)));
        else if (type === 'hash') parts.push(...Object.entries(await redis.hgetall(k)).flat());
        else if (type === 'list') parts.push(...(await redis.lrange(k, 0, -1)));
        else if (type === 'set') parts.push(...(await redis.smembers(k)));
        else if (type === 'zset') parts.push(...(await redis.zrange(k, 0, -1)));
        else if (type === 'stream') parts.push(JSON.stringify(await redis.xrange(k, '-', '+')));
        else parts.push(`<${type}>`);
      }
    } while (cursor !== '0');
  }
  expect(parts.length).toBeGreaterThan(0);
  return parts.join('\n');
}

/** The forms a secret could leak in: as is, base64 (and the whsec_ key's own base64), base64url, hex. */
function forms(secret: string): string[] {
  const out = [secret, Buffer.from(secret).toString('base64'), Buffer.from(secret).toString('base64url')];
  out.push(Buffer.from(secret).toString('hex'));
  if (secret.startsWith('whsec_')) out.push(secret.slice(6), Buffer.from(secret.slice(6), 'base64').toString('hex'));
  return out;
}

async function stored(org: string): Promise<Webhook[]> {
  return Object.values(await s.redis.hgetall(s.keys.orgWebhooks(org))).map((raw) => JSON.parse(raw) as Webhook);
}

const hmacHex = (alg: 'sha256', k: Buffer, body: string) => createHmac(alg, k).update(body).digest('hex');

interface Hooks {
  standard: { path: string; secret: string };
  mender: { path: string; secret: string };
  mist: { path: string; secret: string };
  legacy: { path: string; secret: string };
}
let hooks: Hooks;
const credentials = [
  'Bearer rx-credential-' + randomBytes(12).toString('hex'),
  'apikey-' + randomBytes(9).toString('hex'),
];

/** Sends one deviceauth event and checks every webhook's request verifies with its secret. */
async function sendAndVerify(n: number): Promise<void> {
  const id = `evt-rest-${n}`;
  await s.send({ id, type: 'device-status-changed', data: { id: 'dev-1', status: 'accepted' } });
  const std = (await s.rx.waitOn(hooks.standard.path, n))[n - 1];
  const legacy = (await s.rx.waitOn(hooks.legacy.path, n))[n - 1];
  for (const [req, secret] of [
    [std, hooks.standard.secret],
    [legacy, hooks.legacy.secret],
  ] as const) {
    expect(req.headers['webhook-id']).toBe(id);
    const h = {
      'webhook-id': String(req.headers['webhook-id']),
      'webhook-timestamp': String(req.headers['webhook-timestamp']),
      'webhook-signature': String(req.headers['webhook-signature']),
    };
    expect(new StandardWebhook(secret).verify(req.body, h)).toEqual(JSON.parse(req.body));
  }
  expect(std.headers['authorization']).toBe(credentials[0]);
  expect(std.headers['x-api-key']).toBe(credentials[1]);
  const men = (await s.rx.waitOn(hooks.mender.path, n))[n - 1];
  expect(men.headers['x-men-signature']).toBe(hmacHex('sha256', Buffer.from(hooks.mender.secret, 'hex'), men.body));
  const mist = (await s.rx.waitOn(hooks.mist.path, n))[n - 1];
  expect(mist.headers['x-mist-signature-v2']).toBe(hmacHex('sha256', Buffer.from(hooks.mist.secret), mist.body));
}

it('stores no secret or header value in plain text, and still signs every delivery', async () => {
  const topics = ['deviceauth'];
  const std = await s.webhook({
    url: s.rx.url('/std'),
    topics,
    headers: { Authorization: credentials[0], 'X-Api-Key': credentials[1] },
  });
  const menderSecret = randomBytes(20).toString('hex');
  await s.webhook({ url: s.rx.url('/mender'), topics, signing: 'mender', secret: menderSecret });
  const mistSecret = 'mist-' + randomBytes(10).toString('base64');
  await s.webhook({
    url: s.rx.url('/mist'),
    topics,
    signing: 'mist',
    secret: mistSecret,
    single_event_per_message: true,
  });
  // written before a key was set: plain in Redis, read as it is
  const legacySecret = 'whsec_' + randomBytes(32).toString('base64');
  const legacyHeader = 'legacy-credential-' + randomBytes(8).toString('hex');
  await new WebhookStore(s.redis, s.keys).create(s.org.id, [
    {
      name: 'legacy',
      url: s.rx.url('/legacy'),
      topics: ['deviceauth'],
      headers: { 'X-Legacy': legacyHeader },
      signing: 'standard',
      secret: legacySecret,
      enabled: true,
      single_event_per_message: false,
    },
  ]);
  hooks = {
    standard: { path: '/std', secret: std.secret },
    mender: { path: '/mender', secret: menderSecret },
    mist: { path: '/mist', secret: mistSecret },
    legacy: { path: '/legacy', secret: legacySecret },
  };
  expect(std.secret).toMatch(/^whsec_/);
  expect((await stored(s.org.id)).find((w) => w.name === 'legacy')?.secret).toBe(legacySecret);

  await sendAndVerify(1);

  // the pass seals what was plain; running it again finds nothing to do
  const box = new SecretBox({ key: key(K1) });
  expect(await resealWebhookSecrets(s.redis, s.keys, box)).toMatchObject({ resealed: 1, unavailable: 0 });
  expect(await resealWebhookSecrets(s.redis, s.keys, box)).toMatchObject({ webhooks: 4, resealed: 0 });

  const all = await dump(s.redis, s.prefix);
  const secrets = [std.secret, menderSecret, mistSecret, legacySecret, legacyHeader, ...credentials];
  for (const secret of secrets) for (const form of forms(secret)) expect(all.includes(form)).toBe(false);
  const kid1 = keyId(key(K1));
  for (const w of await stored(s.org.id)) {
    expect(w.secret?.startsWith(`${SEALED_PREFIX}${kid1}:`)).toBe(true);
    for (const v of Object.values(w.headers)) expect(v.startsWith(`${SEALED_PREFIX}${kid1}:`)).toBe(true);
  }
  // reads through the API see neither the secret nor a sealed value
  const read = await s.api.call('GET', `/v1/webhooks/${std.id}`, { token: s.org.key });
  expect(read.body.has_secret).toBe(true);
  expect(read.text).not.toContain(SEALED_PREFIX);

  // an edit that keeps the secret and headers stores them sealed again (a fresh IV), same values
  const before = (await stored(s.org.id)).find((w) => w.id === std.id)!;
  const patched = await s.api.call('PATCH', `/v1/webhooks/${std.id}`, { token: s.org.key, body: { name: 'renamed' } });
  expect(patched.status).toBe(200);
  const after = (await stored(s.org.id)).find((w) => w.id === std.id)!;
  expect(after.secret?.startsWith(`${SEALED_PREFIX}${kid1}:`)).toBe(true);
  expect(after.secret).not.toBe(before.secret);
  expect(box.open(after.secret!, `webhook/${std.id}/secret`)).toBe(std.secret);

  await sendAndVerify(2);
});

it('rotates the key: NEW + OLD, the pass, then NEW alone keeps every webhook signing', async () => {
  await s.restartWorker({ DEVHOOKS_ENCRYPTION_KEY: K2, DEVHOOKS_ENCRYPTION_KEY_OLD: K1 });
  // during the rotation both keys open: deliveries keep signing
  await sendAndVerify(3);
  const rotating = new SecretBox({ key: key(K2), oldKey: key(K1) });
  // the worker ran the pass at start; run it again (concurrently with itself): nothing is left under K1
  const reports = await Promise.all([1, 2, 3].map(() => resealWebhookSecrets(s.redis, s.keys, rotating)));
  expect(reports.every((r) => r.unavailable === 0 && r.webhooks === 4)).toBe(true);
  const kid2 = keyId(key(K2));
  for (const w of await stored(s.org.id)) {
    expect(w.secret?.startsWith(`${SEALED_PREFIX}${kid2}:`)).toBe(true);
    for (const v of Object.values(w.headers)) expect(v.startsWith(`${SEALED_PREFIX}${kid2}:`)).toBe(true);
  }
  await s.restartWorker({ DEVHOOKS_ENCRYPTION_KEY: K2 });
  await sendAndVerify(4);
  // a worker with neither key cannot open them, and the pass says which key is missing
  const report = await resealWebhookSecrets(s.redis, s.keys, new SecretBox({ key: key(K1) }));
  expect(report).toMatchObject({ resealed: 0, unavailable: 4, unavailableKeys: [kid2] });
});
