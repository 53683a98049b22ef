/**
 * Bad request bodies, table-driven: wrong types, missing fields, huge strings, deep nesting,
 * non-object JSON, invalid JSON, invalid UTF-8, empty bodies, a BOM, the wrong content type.
 * Each gets the right status with the error shape {"error": {"code", "message", "details"?}},
 * and nothing is written to Redis (every key under the prefix is compared before and after).
 */
import { startTestApi, type CallResult, type TestApi } from '../../../test/support/api';
import { testPrefix, testRedis } from '../../../test/support/redis';
import { detailsOf, expectError, fingerprint, streamLength } from './helpers';

const prefix = testPrefix(__filename);
const redis = testRedis();
let api: TestApi;
let orgId: string;
let admin: string;
let webhookId: string;

const HOOK = { name: 'h', url: 'http://127.0.0.1:9/hook', topics: ['deviceauth'] };
const EVENT = { type: 'message', data: { t: 1 } };

beforeAll(async () => {
  api = await startTestApi(prefix, { DEVHOOKS_ALLOW_PRIVATE_TARGETS: 'true' });
  const o = await api.org('bodies', 'admin');
  orgId = o.id;
  admin = o.key;
  webhookId = (await api.call('POST', '/v1/webhooks', { token: admin, body: HOOK })).body.id;
});

afterAll(async () => {
  await api.close();
  redis.disconnect();
});

interface Endpoint {
  method: string;
  path: () => string;
  /** The root token (orgs, keys) or the org admin. */
  root?: boolean;
}

const ENDPOINTS: Record<string, Endpoint> = {
  'POST /v1/events': { method: 'POST', path: () => '/v1/events' },
  'POST /v1/webhooks': { method: 'POST', path: () => '/v1/webhooks' },
  'PUT /v1/webhooks/{id}': { method: 'PUT', path: () => `/v1/webhooks/${webhookId}` },
  'PATCH /v1/webhooks/{id}': { method: 'PATCH', path: () => `/v1/webhooks/${webhookId}` },
  'DELETE /v1/webhooks': { method: 'DELETE', path: () => '/v1/webhooks' },
  'POST /v1/orgs': { method: 'POST', path: () => '/v1/orgs', root: true },
  'POST /v1/orgs/{id}/keys': { method: 'POST', path: () => `/v1/orgs/${orgId}/keys`, root: true },
};

const nested = (depth: number, inner = '0') => '['.repeat(depth) + inner + ']'.repeat(depth);
const BOM = '\uFEFF';

/** [label, raw body, content type (null: none), status, error code] — the same for every endpoint. */
const GENERIC: Array<[string, string | Buffer, string | null, number, string]> = [
  ['invalid JSON (unterminated)', '{"type": "message", "data": {}', 'application/json', 400, 'invalid_json'],
  ['invalid JSON (single quotes)', "{'name': 'x'}", 'application/json', 400, 'invalid_json'],
  ['invalid JSON (trailing garbage)', '{} {}', 'application/json', 400, 'invalid_json'],
  ['invalid JSON (NaN)', '{"a": NaN}', 'application/json', 400, 'invalid_json'],
  ['invalid JSON (trailing comma)', '{"a": 1,}', 'application/json', 400, 'invalid_json'],
  ['whitespace only', '   \n ', 'application/json', 400, 'invalid_json'],
  ['invalid UTF-8 (0xff 0xfe)', Buffer.from([0xff, 0xfe, 0x7b, 0x7d]), 'application/json', 400, 'invalid_json'],
  [
    'invalid UTF-8 inside a string',
    Buffer.concat([Buffer.from('{"name":"'), Buffer.from([0xc3, 0x28]), Buffer.from('"}')]),
    'application/json',
    400,
    'invalid_json',
  ],
  [
    'UTF-16LE with its BOM',
    Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('{"name":"x"}', 'utf16le')]),
    'application/json',
    400,
    'invalid_json',
  ],
  [
    'a lone surrogate encoded in UTF-8 bytes',
    Buffer.concat([Buffer.from('{"name":"'), Buffer.from([0xed, 0xa0, 0x80]), Buffer.from('"}')]),
    'application/json',
    400,
    'invalid_json',
  ],
  ['a BOM only', BOM, 'application/json', 400, 'invalid_json'],
  ['a BOM before invalid JSON', BOM + '{x}', 'application/json', 400, 'invalid_json'],
  ['two BOMs', BOM + BOM + '{}', 'application/json', 400, 'invalid_json'],
  ['10,000 nested arrays', nested(10_000), 'application/json', 400, 'invalid_json'],
  ['10,000 nested objects', '{"a":'.repeat(10_000) + '1' + '}'.repeat(10_000), 'application/json', 400, 'invalid_json'],
  ['100 nested arrays', nested(100), 'application/json', 400, 'invalid_json'],
  ['an empty body', '', 'application/json', 400, 'invalid_request'],
  ['null', 'null', 'application/json', 400, 'invalid_request'],
  ['an array', '[]', 'application/json', 400, 'invalid_request'],
  ['an array of objects', '[{"name":"x"}]', 'application/json', 400, 'invalid_request'],
  ['a string', '"hello"', 'application/json', 400, 'invalid_request'],
  ['a number', '42', 'application/json', 400, 'invalid_request'],
  ['a boolean', 'true', 'application/json', 400, 'invalid_request'],
  ['an empty object', '{}', 'application/json', 400, 'invalid_request'],
  ['text/plain', '{"name":"x"}', 'text/plain', 415, 'unsupported_media_type'],
  ['multipart/form-data', '--b\r\n\r\nx\r\n--b--', 'multipart/form-data; boundary=b', 415, 'unsupported_media_type'],
  ['no content type', Buffer.from('{"name":"x"}'), null, 415, 'unsupported_media_type'],
  ['over 1 MiB of garbage', 'x'.repeat(1024 * 1024 + 1), 'application/json', 413, 'payload_too_large'],
];

const MATRIX: Array<[string, string, string | Buffer, string | null, number, string]> = Object.keys(ENDPOINTS).flatMap(
  (e) =>
    GENERIC.map(([label, raw, ct, status, code]): [string, string, string | Buffer, string | null, number, string] => [
      e,
      label,
      raw,
      ct,
      status,
      code,
    ]),
);

async function send(e: Endpoint, raw: string | Buffer, contentType: string | null): Promise<CallResult> {
  return api.call(e.method, e.path(), { token: e.root ? undefined : admin, raw, contentType });
}

describe('every endpoint with a body', () => {
  it.each(MATRIX)('%s: %s', async (name, _label, raw, contentType, status, code) => {
    const before = await fingerprint(redis, prefix);
    const res = await send(ENDPOINTS[name], raw, contentType);
    expectError(res, status, code);
    expect(await fingerprint(redis, prefix)).toEqual(before);
  });
});

/** [label, body, paths the details must name] */
const EVENT_CASES: Array<[string, unknown, string[]]> = [
  ['missing type and data', {}, ['/type', '/data']],
  ['missing data', { type: 'message' }, ['/data']],
  ['type as an array', { type: ['message'], data: {} }, ['/type']],
  ['type as null', { type: null, data: {} }, ['/type']],
  ['data as a number', { type: 'message', data: 5 }, ['/data']],
  ['id as an object', { id: { a: 1 }, type: 'message', data: {} }, ['/id']],
  ['time as a number', { type: 'message', time: 1714564800, data: {} }, ['/time']],
  ['a 100,000-character id', { id: 'i'.repeat(100_000), type: 'message', data: {} }, ['/id']],
  ['a 100,000-character type', { type: 't'.repeat(100_000), data: {} }, ['/type']],
  ['a 100,000-character site_id', { type: 'message', site_id: 's'.repeat(100_000), data: {} }, ['/site_id']],
  ['a 100,000-character time', { type: 'message', time: '2'.repeat(100_000), data: {} }, ['/time']],
  ['a huge data id', { type: 'device-decommissioned', data: { id: 'd'.repeat(100_000) } }, ['/data/id']],
  ['events as an object', { events: { a: EVENT } }, ['/events']],
  ['events holding null', { events: [EVENT, null] }, ['']],
  [
    '100 unknown fields',
    { type: 'message', data: {}, ...Object.fromEntries([...Array(100).keys()].map((i) => [`f${i}`, i])) },
    ['/f0', '/f1'],
  ],
];

describe('POST /v1/events: schema problems → 400 with details, nothing queued', () => {
  it.each(EVENT_CASES)('%s', async (_label, body, paths) => {
    const before = await fingerprint(redis, prefix);
    const len = await streamLength(redis, prefix);
    const res = await api.call('POST', '/v1/events', { token: admin, body });
    expectError(res, 400, 'invalid_request');
    const got = detailsOf(res).map((d) => d.path);
    expect(got).toEqual(expect.arrayContaining(paths));
    expect(await streamLength(redis, prefix)).toBe(len);
    expect(await fingerprint(redis, prefix)).toEqual(before);
  });

  it('a batch of 1000 bad events: the details are capped, nothing queued', async () => {
    const before = await fingerprint(redis, prefix);
    const res = await api.call('POST', '/v1/events', {
      token: admin,
      body: { events: Array.from({ length: 1000 }, () => ({ type: 'nope', data: {} })) },
    });
    expectError(res, 400, 'invalid_request');
    expect(detailsOf(res).length).toBeLessThanOrEqual(51);
    expect(detailsOf(res)[0]).toMatchObject({ index: 0, path: '/type' });
    expect(await fingerprint(redis, prefix)).toEqual(before);
  });

  it('a huge string in data that takes the body past 1 MiB → 413', async () => {
    const before = await fingerprint(redis, prefix);
    const res = await api.call('POST', '/v1/events', {
      token: admin,
      body: { type: 'message', data: { s: 'x'.repeat(2 * 1024 * 1024) } },
    });
    expectError(res, 413, 'payload_too_large');
    expect(await fingerprint(redis, prefix)).toEqual(before);
  });

  it('deep nesting inside data → 400, nothing queued', async () => {
    const before = await fingerprint(redis, prefix);
    const raw = `{"type":"message","data":{"a":${nested(200)}}}`;
    expectError(await api.call('POST', '/v1/events', { token: admin, raw }), 400, 'invalid_json');
    expect(await fingerprint(redis, prefix)).toEqual(before);
  });

  it('moderate nesting (50 levels) is fine', async () => {
    const raw = `{"type":"message","data":{"a":${nested(50)}}}`;
    const res = await api.call('POST', '/v1/events', { token: admin, raw });
    expect(res.status).toBe(202);
  });

  it('a BOM before valid JSON is ignored: accepted', async () => {
    const len = await streamLength(redis, prefix);
    const res = await api.call('POST', '/v1/events', {
      token: admin,
      raw: BOM + JSON.stringify({ id: 'bom-1', ...EVENT }),
    });
    expect(res.status).toBe(202);
    expect(res.body).toEqual({ accepted: 1, duplicates: 0, ids: ['bom-1'] });
    expect(await streamLength(redis, prefix)).toBe(len + 1);
  });
});

const WEBHOOK_CASES: Array<[string, unknown, string[]]> = [
  ['missing everything', {}, ['/name', '/url', '/topics']],
  ['missing url and topics', { name: 'x' }, ['/url', '/topics']],
  ['name as an object', { ...HOOK, name: {} }, ['/name']],
  ['url as an array', { ...HOOK, url: ['http://127.0.0.1/'] }, ['/url']],
  ['topics as a string', { ...HOOK, topics: 'deviceauth' }, ['/topics']],
  ['topics of numbers', { ...HOOK, topics: [1, 2] }, ['/topics/0', '/topics/1']],
  ['enabled as a string', { ...HOOK, enabled: 'true' }, ['/enabled']],
  ['headers as an array', { ...HOOK, headers: [['X-A', '1']] }, ['/headers']],
  ['metadata as a number', { ...HOOK, metadata: 1 }, ['/metadata']],
  ['a 100,000-character name', { ...HOOK, name: 'n'.repeat(100_000) }, ['/name']],
  ['a 100,000-character url', { ...HOOK, url: 'http://127.0.0.1/' + 'u'.repeat(100_000) }, ['/url']],
  ['a 100,000-character secret', { ...HOOK, secret: 'whsec_' + 'A'.repeat(100_000) }, ['/secret']],
  ['a 100,000-character header value', { ...HOOK, headers: { 'X-A': 'v'.repeat(100_000) } }, ['/headers']],
  ['a 100,000-character site_id', { ...HOOK, site_id: 's'.repeat(100_000) }, ['/site_id']],
  ['metadata of 500 KiB', { ...HOOK, metadata: { m: 'm'.repeat(500 * 1024) } }, ['/metadata']],
  ['webhooks holding null', { webhooks: [HOOK, null] }, ['']],
];

describe('POST /v1/webhooks: schema problems → 400 with details, nothing created', () => {
  it.each(WEBHOOK_CASES)('%s', async (_label, body, paths) => {
    const before = await fingerprint(redis, prefix);
    const res = await api.call('POST', '/v1/webhooks', { token: admin, body });
    expectError(res, 400, 'invalid_request');
    expect(detailsOf(res).map((d) => d.path)).toEqual(expect.arrayContaining(paths));
    expect(await fingerprint(redis, prefix)).toEqual(before);
  });

  it('deep nesting in metadata → 400, nothing created', async () => {
    const before = await fingerprint(redis, prefix);
    const raw = JSON.stringify({ ...HOOK, metadata: {} }).replace('"metadata":{}', `"metadata":{"a":${nested(100)}}`);
    expectError(await api.call('POST', '/v1/webhooks', { token: admin, raw }), 400, 'invalid_json');
    expect(await fingerprint(redis, prefix)).toEqual(before);
  });

  it('metadata past 1 MiB → 413, nothing created', async () => {
    const before = await fingerprint(redis, prefix);
    const res = await api.call('POST', '/v1/webhooks', {
      token: admin,
      body: { ...HOOK, metadata: { m: 'm'.repeat(1024 * 1024) } },
    });
    expectError(res, 413, 'payload_too_large');
    expect(await fingerprint(redis, prefix)).toEqual(before);
  });

  it('a BOM before valid JSON is ignored: created', async () => {
    const res = await api.call('POST', '/v1/webhooks', {
      token: admin,
      raw: BOM + JSON.stringify({ ...HOOK, name: 'with-bom' }),
    });
    expect(res.status).toBe(201);
    expect(res.body.name).toBe('with-bom');
  });
});
