/**
 * The three signing schemes of docs/contract.md §6, checked against HMACs computed here with node:crypto,
 * against literal vectors computed once outside the code, and (standard) against the published
 * `standardwebhooks` package.
 */
import { createHmac } from 'node:crypto';
import { Webhook as StandardWebhook } from 'standardwebhooks';
import { signingKey } from './secrets';
import {
  MENDER_ALGORITHM,
  SIGNATURE_HEADERS,
  signatureHeaders,
  signMender,
  signMist,
  signStandard,
  verifyMender,
  verifyMist,
  verifyStandard,
} from './signatures';

// The example of the Standard Webhooks specification (its published test vector).
const STD_SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
const STD_ID = 'msg_p5jXN8AQM9LWM0D4loKWxJek';
const STD_TS = 1614265330;
const STD_BODY = '{"test": 2432232314}';
const STD_LITERAL = 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=';

const MENDER_SECRET = '0123456789abcdef0123456789abcdef';
const MENDER_BODY = '{"id":"evt-1","type":"device-provisioned","data":{"id":"dev-1"},"time":"2024-01-02T03:04:05Z"}';
const MENDER_LITERAL = '20bf76c3370b8820d2fbdfb8ecd7434a90d61729daf4f4c6d5e15e71bec6165e';

const MIST_SECRET = 'mist-sécret'; // non-ASCII: the key is the UTF-8 bytes
const MIST_BODY = '{"topic":"alarms","events":[{"type":"AP_RESTARTED","timestamp":1700000000}]}';
const MIST_LITERAL_V2 = '810c329600a212b9c093fee2741ec4e8d6bd21f195e4a7a50ccdc2ec365527f7';
const MIST_LITERAL_V1 = '2900432555cf4daaac7cda52f479ce7da4bbb728';

// Independent reference implementations of §6.
const refStandard = (secret: string, id: string, ts: number, body: string) =>
  'v1,' +
  createHmac('sha256', Buffer.from(secret.slice('whsec_'.length), 'base64'))
    .update(`${id}.${ts}.${body}`)
    .digest('base64');
const refMender = (secretHex: string, body: string) =>
  createHmac('sha256', Buffer.from(secretHex, 'hex')).update(body).digest('hex');
const refMist = (secret: string, body: string, algo: 'sha256' | 'sha1') =>
  createHmac(algo, Buffer.from(secret, 'utf8')).update(body).digest('hex');

const nowSeconds = () => Math.floor(Date.now() / 1000);

describe('literal vectors (computed once, outside the code under test)', () => {
  it('standard: the Standard Webhooks specification example', () => {
    expect(refStandard(STD_SECRET, STD_ID, STD_TS, STD_BODY)).toBe(STD_LITERAL);
    expect(signStandard(signingKey('standard', STD_SECRET), STD_ID, STD_TS, STD_BODY)).toBe(STD_LITERAL);
    expect(signatureHeaders('standard', signingKey('standard', STD_SECRET), STD_ID, STD_TS, STD_BODY)).toEqual({
      'webhook-signature': STD_LITERAL,
    });
  });

  it('mender: lowercase hex HMAC-SHA256 of the body, key hex-decoded, plus the algorithm header', () => {
    expect(refMender(MENDER_SECRET, MENDER_BODY)).toBe(MENDER_LITERAL);
    expect(signMender(signingKey('mender', MENDER_SECRET), MENDER_BODY)).toBe(MENDER_LITERAL);
    expect(signatureHeaders('mender', signingKey('mender', MENDER_SECRET), 'ignored', 0, MENDER_BODY)).toEqual({
      'x-men-signature': MENDER_LITERAL,
      'x-men-algorithm': 'MEN-HMAC-SHA256-Payload',
    });
    expect(MENDER_ALGORITHM).toBe('MEN-HMAC-SHA256-Payload');
  });

  it('mist: hex HMAC-SHA256 (v2) and hex HMAC-SHA1 (v1) of the body, key = UTF-8 bytes', () => {
    expect(refMist(MIST_SECRET, MIST_BODY, 'sha256')).toBe(MIST_LITERAL_V2);
    expect(refMist(MIST_SECRET, MIST_BODY, 'sha1')).toBe(MIST_LITERAL_V1);
    expect(signMist(signingKey('mist', MIST_SECRET), MIST_BODY)).toEqual({ v2: MIST_LITERAL_V2, v1: MIST_LITERAL_V1 });
    expect(signatureHeaders('mist', signingKey('mist', MIST_SECRET), 'ignored', 0, MIST_BODY)).toEqual({
      'x-mist-signature-v2': MIST_LITERAL_V2,
      'x-mist-signature': MIST_LITERAL_V1,
    });
  });
});

describe('signers agree with node:crypto over a table of inputs', () => {
  const bodies = ['', '{}', MENDER_BODY, '{"unicode":"ünïcødé ✓"}', 'x'.repeat(10_000)];

  describe.each([
    ['whsec_' + Buffer.alloc(24, 1).toString('base64'), 'msg_1', 1_700_000_000],
    ['whsec_' + Buffer.alloc(32, 0xab).toString('base64'), 'evt-α.b:c', 0],
    ['whsec_' + Buffer.alloc(64, 0x7f).toString('base64'), 'x', 4_102_444_800],
  ])('standard secret %s, id %s, ts %i', (secret, id, ts) => {
    it.each(bodies.map((b) => [b.slice(0, 20), b]))('body %j', (_label, body) => {
      const expected = refStandard(secret, id, ts, body);
      expect(signStandard(signingKey('standard', secret), id, ts, body)).toBe(expected);
      expect(signStandard(signingKey('standard', secret), id, ts, Buffer.from(body))).toBe(expected);
    });
  });

  it.each([['ab'], ['00ff'], [MENDER_SECRET], ['AB'.repeat(64)]])('mender secret %s', (secret) => {
    for (const body of bodies) {
      const sig = signMender(signingKey('mender', secret), body);
      expect(sig).toBe(refMender(secret, body));
      expect(sig).toMatch(/^[0-9a-f]{64}$/);
    }
  });

  it.each([['k'], [MIST_SECRET], ['🔑'.repeat(10)], ['s'.repeat(256)]])('mist secret %s', (secret) => {
    for (const body of bodies) {
      const sig = signMist(signingKey('mist', secret), body);
      expect(sig.v2).toBe(refMist(secret, body, 'sha256'));
      expect(sig.v1).toBe(refMist(secret, body, 'sha1'));
      expect(sig.v2).toMatch(/^[0-9a-f]{64}$/);
      expect(sig.v1).toMatch(/^[0-9a-f]{40}$/);
    }
  });
});

describe('signatureHeaders', () => {
  it.each(['standard', 'mender', 'mist'] as const)('%s: no key, no signature headers', (signing) => {
    expect(signatureHeaders(signing, undefined, 'msg_1', 1_700_000_000, '{}')).toEqual({});
  });

  it('only ever sets the headers listed in SIGNATURE_HEADERS', () => {
    const all = [
      signatureHeaders('standard', signingKey('standard', STD_SECRET), 'm', 1, '{}'),
      signatureHeaders('mender', signingKey('mender', MENDER_SECRET), 'm', 1, '{}'),
      signatureHeaders('mist', signingKey('mist', MIST_SECRET), 'm', 1, '{}'),
    ].flatMap((h) => Object.keys(h));
    expect(all.sort()).toEqual([...SIGNATURE_HEADERS].sort());
  });
});

describe('standard signatures verify with the third-party standardwebhooks package', () => {
  it.each([
    ['the spec secret', STD_SECRET],
    ['24 bytes', 'whsec_' + Buffer.alloc(24, 9).toString('base64')],
    ['64 bytes', 'whsec_' + Buffer.alloc(64, 200).toString('base64')],
  ])('%s', (_label, secret) => {
    const body = JSON.stringify({ topic: 'alarms', events: [{ type: 'X', timestamp: 1 }] });
    const ts = nowSeconds();
    const headers: Record<string, string> = {
      'webhook-id': 'msg_abc',
      'webhook-timestamp': String(ts),
      ...signatureHeaders('standard', signingKey('standard', secret), 'msg_abc', ts, body),
    };
    expect(headers['webhook-signature']).toMatch(/^v1,[A-Za-z0-9+/]{43}=$/);
    expect(new StandardWebhook(secret).verify(body, headers)).toEqual(JSON.parse(body));
    // and the package's own signature is what ours verifies
    const theirs = new StandardWebhook(secret).sign('msg_abc', new Date(ts * 1000), body);
    expect(theirs).toBe(headers['webhook-signature']);
    expect(verifyStandard(secret, { ...headers, 'webhook-signature': theirs }, body)).toBe(true);
  });

  it('the package refuses a tampered body signed by us', () => {
    const ts = nowSeconds();
    const headers = {
      'webhook-id': 'msg_abc',
      'webhook-timestamp': String(ts),
      ...signatureHeaders('standard', signingKey('standard', STD_SECRET), 'msg_abc', ts, '{"a":1}'),
    };
    expect(() => new StandardWebhook(STD_SECRET).verify('{"a":2}', headers)).toThrow();
  });
});

describe('verifyStandard', () => {
  const OTHER = 'whsec_' + Buffer.alloc(24, 2).toString('base64');
  const ts = STD_TS;
  const now = STD_TS * 1000;
  const good = { 'webhook-id': STD_ID, 'webhook-timestamp': String(ts), 'webhook-signature': STD_LITERAL };

  it.each<[string, string, Record<string, string | string[] | undefined>, string, number, boolean]>([
    ['good', STD_SECRET, good, STD_BODY, now, true],
    ['good, as a Buffer body', STD_SECRET, good, STD_BODY, now, true],
    [
      'header names in any case',
      STD_SECRET,
      { 'Webhook-Id': STD_ID, 'WEBHOOK-TIMESTAMP': String(ts), 'Webhook-Signature': STD_LITERAL },
      STD_BODY,
      now,
      true,
    ],
    [
      'array header values (first used)',
      STD_SECRET,
      { ...good, 'webhook-signature': [STD_LITERAL, 'v1,zzz'] },
      STD_BODY,
      now,
      true,
    ],
    [
      'several signatures, the good one last',
      STD_SECRET,
      { ...good, 'webhook-signature': `v1,AAAA v1a,xyz ${STD_LITERAL}` },
      STD_BODY,
      now,
      true,
    ],
    [
      'several signatures, the good one first',
      STD_SECRET,
      { ...good, 'webhook-signature': `${STD_LITERAL} v1,AAAA` },
      STD_BODY,
      now,
      true,
    ],
    [
      'several signatures, none good',
      STD_SECRET,
      { ...good, 'webhook-signature': 'v1,AAAA v1,BBBB' },
      STD_BODY,
      now,
      false,
    ],
    ['tampered body', STD_SECRET, good, STD_BODY + ' ', now, false],
    ['wrong secret', OTHER, good, STD_BODY, now, false],
    ['other message id', STD_SECRET, { ...good, 'webhook-id': STD_ID + 'x' }, STD_BODY, now, false],
    ['other timestamp', STD_SECRET, { ...good, 'webhook-timestamp': String(ts + 1) }, STD_BODY, now, false],
    [
      'signature without v1, prefix',
      STD_SECRET,
      { ...good, 'webhook-signature': STD_LITERAL.slice(3) },
      STD_BODY,
      now,
      false,
    ],
    ['timestamp 300 s old (at the tolerance)', STD_SECRET, good, STD_BODY, now + 300_000, true],
    ['timestamp 301 s old (stale)', STD_SECRET, good, STD_BODY, now + 301_000, false],
    ['timestamp 301 s in the future', STD_SECRET, good, STD_BODY, now - 301_000, false],
    ['non-numeric timestamp', STD_SECRET, { ...good, 'webhook-timestamp': '1614265330.0' }, STD_BODY, now, false],
    ['missing webhook-id', STD_SECRET, { ...good, 'webhook-id': undefined }, STD_BODY, now, false],
    ['missing webhook-timestamp', STD_SECRET, { ...good, 'webhook-timestamp': undefined }, STD_BODY, now, false],
    ['missing webhook-signature', STD_SECRET, { ...good, 'webhook-signature': undefined }, STD_BODY, now, false],
    ['no headers at all', STD_SECRET, {}, STD_BODY, now, false],
  ])('%s → %s', (label, secret, headers, body, at, expected) => {
    const b = label.includes('Buffer') ? Buffer.from(body) : body;
    expect(verifyStandard(secret, headers, b, 300, at)).toBe(expected);
  });

  it('honours a custom tolerance', () => {
    expect(verifyStandard(STD_SECRET, good, STD_BODY, 10, now + 10_000)).toBe(true);
    expect(verifyStandard(STD_SECRET, good, STD_BODY, 10, now + 11_000)).toBe(false);
  });

  it('defaults `now` to the clock: a fresh signature verifies, the 2021 vector is stale', () => {
    const t = nowSeconds();
    const sig = signStandard(signingKey('standard', STD_SECRET), 'm', t, 'b');
    expect(
      verifyStandard(STD_SECRET, { 'webhook-id': 'm', 'webhook-timestamp': String(t), 'webhook-signature': sig }, 'b'),
    ).toBe(true);
    expect(verifyStandard(STD_SECRET, good, STD_BODY)).toBe(false);
  });
});

describe('verifyMender', () => {
  const good = { 'x-men-signature': MENDER_LITERAL, 'x-men-algorithm': MENDER_ALGORITHM };
  it.each<[string, string, Record<string, string | string[] | undefined>, string, boolean]>([
    ['good', MENDER_SECRET, good, MENDER_BODY, true],
    ['uppercase hex signature', MENDER_SECRET, { 'x-men-signature': MENDER_LITERAL.toUpperCase() }, MENDER_BODY, true],
    ['uppercase hex secret', MENDER_SECRET.toUpperCase(), good, MENDER_BODY, true],
    ['header name in any case', MENDER_SECRET, { 'X-Men-Signature': MENDER_LITERAL }, MENDER_BODY, true],
    ['tampered body', MENDER_SECRET, good, MENDER_BODY.replace('dev-1', 'dev-2'), false],
    ['wrong secret', 'ab', good, MENDER_BODY, false],
    ['truncated signature', MENDER_SECRET, { 'x-men-signature': MENDER_LITERAL.slice(0, 63) }, MENDER_BODY, false],
    [
      'base64 instead of hex',
      MENDER_SECRET,
      { 'x-men-signature': Buffer.from(MENDER_LITERAL, 'hex').toString('base64') },
      MENDER_BODY,
      false,
    ],
    ['missing header', MENDER_SECRET, { 'x-men-algorithm': MENDER_ALGORITHM }, MENDER_BODY, false],
    ['empty header', MENDER_SECRET, { 'x-men-signature': '' }, MENDER_BODY, false],
  ])('%s → %s', (_label, secret, headers, body, expected) => {
    expect(verifyMender(secret, headers, body)).toBe(expected);
  });
});

describe('verifyMist', () => {
  const good = { 'x-mist-signature-v2': MIST_LITERAL_V2, 'x-mist-signature': MIST_LITERAL_V1 };
  it.each<[string, string, Record<string, string | string[] | undefined>, string, boolean]>([
    ['good', MIST_SECRET, good, MIST_BODY, true],
    [
      'uppercase hex',
      MIST_SECRET,
      { 'x-mist-signature-v2': MIST_LITERAL_V2.toUpperCase(), 'x-mist-signature': MIST_LITERAL_V1.toUpperCase() },
      MIST_BODY,
      true,
    ],
    [
      'header names in any case',
      MIST_SECRET,
      { 'X-Mist-Signature-V2': MIST_LITERAL_V2, 'X-Mist-Signature': MIST_LITERAL_V1 },
      MIST_BODY,
      true,
    ],
    ['tampered body', MIST_SECRET, good, MIST_BODY.replace('1700000000', '1700000001'), false],
    ['wrong secret', 'mist-secret', good, MIST_BODY, false],
    ['good v2, bad v1', MIST_SECRET, { ...good, 'x-mist-signature': '0'.repeat(40) }, MIST_BODY, false],
    ['bad v2, good v1', MIST_SECRET, { ...good, 'x-mist-signature-v2': '0'.repeat(64) }, MIST_BODY, false],
    [
      'v1 and v2 swapped',
      MIST_SECRET,
      { 'x-mist-signature-v2': MIST_LITERAL_V1, 'x-mist-signature': MIST_LITERAL_V2 },
      MIST_BODY,
      false,
    ],
    ['missing v2', MIST_SECRET, { 'x-mist-signature': MIST_LITERAL_V1 }, MIST_BODY, false],
    ['missing v1', MIST_SECRET, { 'x-mist-signature-v2': MIST_LITERAL_V2 }, MIST_BODY, false],
    ['no headers', MIST_SECRET, {}, MIST_BODY, false],
  ])('%s → %s', (_label, secret, headers, body, expected) => {
    expect(verifyMist(secret, headers, body)).toBe(expected);
  });
});
