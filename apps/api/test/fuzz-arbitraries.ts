/**
 * fast-check generators for the fuzz suite (not a test file): requests against one operation of
 * the OpenAPI document, with random methods, path forms, params, queries, headers, tokens, content
 * types and bodies, biased towards what the API might almost accept.
 */
import fc from 'fast-check';
import { fillPath, type Operation, type RawRequest } from './spec-routes';

export type Who = 'root' | 'admin' | 'viewer' | 'producer' | 'other-admin';

export interface FuzzWorld {
  tokens: Record<Who, string>;
  /** Real ids by path parameter name (ping's webhook ids excluded: a real ping waits for a worker). */
  ids: Record<string, string[]>;
}

export interface FuzzRequest extends RawRequest {
  who: string;
}

const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS'];
const printable = (max: number) =>
  fc.string({ maxLength: max }).map((s) => s.replace(/[^\x21-\x7e]/g, '')) as fc.Arbitrary<string>;

/** Tokens: every role, another org's admin, none, and garbage in many shapes. */
function authorization(world: FuzzWorld): fc.Arbitrary<{ who: string; header?: string }> {
  const roles = (Object.keys(world.tokens) as Who[]).map((who) =>
    fc.constant({ who, header: `Bearer ${world.tokens[who]}` }),
  );
  return fc.oneof(
    { weight: 6, arbitrary: fc.oneof(...roles) },
    { weight: 1, arbitrary: fc.constant({ who: 'none' }) },
    {
      weight: 2,
      arbitrary: fc.oneof(
        printable(60).map((t) => ({ who: 'garbage', header: `Bearer ${t}` })),
        printable(60).map((t) => ({ who: 'garbage', header: t })),
        printable(40).map((t) => ({ who: 'garbage', header: `Basic ${Buffer.from(`x:${t}`).toString('base64')}` })),
        fc.constant({ who: 'garbage', header: `bearer  ${world.tokens.admin}x` }),
        fc.constant({ who: 'garbage', header: 'Bearer' }),
      ),
    },
  );
}

function param(world: FuzzWorld, name: string): fc.Arbitrary<string> {
  const real = world.ids[name] ?? [];
  return fc.oneof(
    { weight: real.length ? 5 : 0, arbitrary: real.length ? fc.constantFrom(...real) : fc.constant('none') },
    { weight: 2, arbitrary: fc.string({ maxLength: 40 }) },
    { weight: 1, arbitrary: fc.constantFrom('wh_0', 'org_0', 'dlv_0_0', 'key_0', '..', '.', '%', 'a'.repeat(300)) },
    { weight: 1, arbitrary: fc.string({ unit: 'grapheme', maxLength: 10 }) },
  );
}

const QUERY_NAMES = ['limit', 'offset', 'status', 'topic', 'status_code', 'since', 'until', 'site_id', 'group_id', 'x'];
const queryValue = fc.oneof(
  fc.constantFrom('1', '0', '-1', '200', '201', '1e3', 'failed', 'alarms', '2024-01-01T00:00:00Z', '', 'null'),
  fc.string({ maxLength: 20 }),
);
const query = fc.oneof(
  { weight: 3, arbitrary: fc.constant('') },
  {
    weight: 2,
    arbitrary: fc
      .array(fc.tuple(fc.constantFrom(...QUERY_NAMES), queryValue), { minLength: 1, maxLength: 4 })
      .map((pairs) => '?' + pairs.map(([k, v]) => `${k}=${encodeURIComponent(v)}`).join('&')),
  },
  { weight: 1, arbitrary: printable(30).map((q) => '?' + q.replace(/#/g, '')) },
);

function pathForm(path: string): fc.Arbitrary<string> {
  return fc.oneof(
    { weight: 8, arbitrary: fc.constant(path) },
    { weight: 1, arbitrary: fc.constantFrom(path + '/', path.toUpperCase(), '/' + path, path.replace('/', '/./')) },
    // never a real webhook's ping: it waits for a worker's attempt
    {
      weight: 1,
      arbitrary: printable(12)
        .filter((s) => s !== 'ping')
        .map((s) => `${path}/${encodeURIComponent(s)}`),
    },
  );
}

const CONTENT_TYPES = [
  'application/json',
  'application/json; charset=utf-8',
  'application/merge-patch+json',
  'text/plain',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=x',
  'application/json; charset=latin1',
  'json',
];

/** Bodies that are nearly right for the API's resources, with some field made wrong. */
const nearlyRight = fc.oneof(
  fc.record(
    {
      name: fc.oneof(fc.string({ maxLength: 110 }), fc.integer()),
      url: fc.oneof(
        fc.constantFrom('http://93.184.216.34/hook', 'http://127.0.0.1:9/x', 'https://example.com/h', 'ftp://x'),
        fc.string(),
      ),
      topics: fc.oneof(fc.subarray(['deviceauth', 'alarms', 'messages', 'nope']), fc.jsonValue()),
      headers: fc.dictionary(printable(12), fc.oneof(printable(20), fc.constant('***'))),
      secret: fc.oneof(fc.constantFrom('whsec_' + 'A'.repeat(32), 'abcd', ''), fc.string()),
      signing: fc.constantFrom('standard', 'mender', 'mist', 'x'),
      enabled: fc.oneof(fc.boolean(), fc.jsonValue()),
      metadata: fc.jsonValue(),
    },
    { requiredKeys: [] },
  ),
  fc.record(
    {
      id: fc.oneof(fc.stringMatching(/^[A-Za-z0-9._:-]{1,20}$/), fc.string()),
      type: fc.constantFrom('alarm', 'audit', 'message', 'device-provisioned', 'nope'),
      data: fc.oneof(fc.constant({ type: 'X', timestamp: 1 }), fc.jsonValue()),
      time: fc.oneof(fc.constant('2024-01-01T00:00:00Z'), fc.string()),
    },
    { requiredKeys: ['type'] },
  ),
  fc.record({ name: fc.string({ maxLength: 20 }), role: fc.constantFrom('admin', 'viewer', 'producer', 'root') }),
  fc.record({ webhook_ids: fc.array(fc.string({ maxLength: 12 }), { maxLength: 3 }) }),
);

/** Bodies the API accepts, so that routes are reached past their checks too. */
const valid = fc.oneof(
  fc.record({ name: fc.string({ minLength: 1, maxLength: 20 }) }),
  fc.record({ name: fc.constant('k'), role: fc.constantFrom('admin', 'viewer', 'producer') }),
  fc.record({
    name: fc.constant('w'),
    url: fc.constant('http://93.184.216.34/hook'),
    topics: fc.constant(['alarms']),
    headers: fc.constant({ Authorization: 'Bearer r' }),
  }),
  fc.record({ enabled: fc.boolean() }),
  fc.record({ id: fc.uuid(), type: fc.constant('alarm'), data: fc.constant({ type: 'X', timestamp: 1 }) }),
);

/**
 * A body this operation accepts, so that every write route is also reached past its checks often
 * enough that a seeded run of a few hundred requests always sees it succeed.
 */
function validFor(op: Operation): fc.Arbitrary<unknown> {
  const key = `${op.method} ${op.template}`;
  if (key === 'POST /v1/events') {
    return fc.oneof(
      valid.filter((b) => 'type' in (b as object)),
      fc
        .array(
          fc.record({ id: fc.uuid(), type: fc.constant('alarm'), data: fc.constant({ type: 'X', timestamp: 1 }) }),
          {
            minLength: 1,
            maxLength: 3,
          },
        )
        .map((events) => ({ events })),
    );
  }
  if (key === 'POST /v1/webhooks' || key === 'PUT /v1/webhooks/{id}')
    return valid.filter((b) => 'url' in (b as object));
  if (key === 'PATCH /v1/webhooks/{id}') return fc.record({ enabled: fc.boolean() });
  if (key === 'POST /v1/orgs/{org_id}/keys') return valid.filter((b) => 'role' in (b as object));
  if (key === 'POST /v1/orgs') return fc.record({ name: fc.string({ minLength: 1, maxLength: 20 }) });
  return valid;
}

const bodyFor = (op: Operation): fc.Arbitrary<string | Buffer | undefined> =>
  fc.oneof(
    { weight: 2, arbitrary: fc.constant(undefined) },
    { weight: 3, arbitrary: validFor(op).map((b) => JSON.stringify(b)) },
    { weight: 1, arbitrary: valid.map((b) => JSON.stringify(b)) },
    { weight: 4, arbitrary: nearlyRight.map((b) => JSON.stringify(b)) },
    { weight: 1, arbitrary: nearlyRight.map((b) => JSON.stringify({ events: [b, b] })) },
    { weight: 2, arbitrary: fc.json() },
    { weight: 1, arbitrary: fc.string({ maxLength: 60 }) },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 80 }).map((a) => Buffer.from(a)) },
    {
      weight: 1,
      arbitrary: fc.constantFrom(
        '['.repeat(200) + ']'.repeat(200),
        '\ufeff\ufeff{}',
        '{"a":1}{"b":2}',
        'x'.repeat(1024 * 1024 + 10),
        '',
      ),
    },
  );

/** One request aimed at `op`. */
export function requestFor(op: Operation, world: FuzzWorld): fc.Arbitrary<FuzzRequest> {
  const names = [...op.template.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]);
  const params = fc.tuple(...names.map((n) => param(world, n)));
  return fc
    .record({
      method: fc.oneof(
        { weight: 4, arbitrary: fc.constant(op.method) },
        { weight: 1, arbitrary: fc.constantFrom(...METHODS) },
      ),
      path: params.chain((values) =>
        pathForm(fillPath(op.template, Object.fromEntries(names.map((n, i) => [n, values[i]])))),
      ),
      query,
      auth: authorization(world),
      contentType: fc.oneof(
        { weight: 4, arbitrary: fc.constant<string | undefined>('application/json') },
        { weight: 2, arbitrary: fc.constantFrom<string | undefined>(...CONTENT_TYPES) },
        { weight: 1, arbitrary: fc.constant(undefined) },
      ),
      extra: fc.dictionary(
        fc.constantFrom('accept', 'x-forwarded-for', 'accept-encoding', 'x-request-id'),
        printable(30),
        {
          maxKeys: 2,
        },
      ),
      body: bodyFor(op),
    })
    .map((r) => {
      const headers: Record<string, string> = { ...r.extra };
      if (r.auth.header !== undefined) headers.authorization = r.auth.header;
      if (r.contentType !== undefined) headers['content-type'] = r.contentType;
      const hasBody = r.body !== undefined && r.method !== 'GET' && r.method !== 'HEAD';
      return {
        who: r.auth.who,
        method: r.method,
        path: r.path + r.query,
        headers,
        body: hasBody ? r.body : undefined,
        timeoutMs: 10_000,
      };
    });
}
