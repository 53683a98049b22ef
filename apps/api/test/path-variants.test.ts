/**
 * Defect 1 of issue 13: routing and the /v1 guard agree on every form of every path. For each
 * operation of the OpenAPI document, case variants, `//`, `/./`, `%2F` and trailing-slash forms:
 * never a 5xx; without a token (or with a garbage one) always a JSON 401 or 404 and nothing written;
 * with a token, a case variant is no route (404) and nothing answers 5xx.
 */
import { ROOT, startTestApi, type TestApi } from '../../../test/support/api';
import { testPrefix, testRedis } from '../../../test/support/redis';
import { fingerprint } from './helpers';
import { fillPath, hasErrorShape, rawCall, specOperations, type Operation } from './spec-routes';

const prefix = testPrefix(__filename);
const redis = testRedis();
let api: TestApi;
let port: number;
const ids: Record<string, string> = {};
let admin: string;

/** Bodies a handler would act on, were it ever reached. */
function bodyFor(op: Operation): string | undefined {
  if (op.method === 'GET' || op.method === 'DELETE') {
    return op.template === '/v1/webhooks' ? JSON.stringify({ webhook_ids: [ids.id] }) : undefined;
  }
  if (op.template === '/v1/orgs') return JSON.stringify({ name: 'sneaky' });
  if (op.template.endsWith('/keys')) return JSON.stringify({ name: 'sneaky', role: 'admin' });
  if (op.template === '/v1/events') {
    return JSON.stringify({ id: 'sneaky-1', type: 'alarm', data: { type: 'X', timestamp: 1 } });
  }
  if (op.template.startsWith('/v1/webhooks')) {
    return JSON.stringify({ name: 'sneaky', url: 'http://127.0.0.1:9/x', topics: ['alarms'], enabled: false });
  }
  return '{}';
}

/** The forms of a path that must not reach a handler unguarded. */
function variants(
  template: string,
  values: Record<string, string>,
): Array<{ form: string; path: string; caseOnly: boolean }> {
  const p = fillPath(template, values);
  const segs = template.split('/');
  const lastStatic = segs.findLastIndex((s) => s !== '' && !s.startsWith('{'));
  const capitalised = fillPath(
    segs.map((s, i) => (i === lastStatic ? s.charAt(0).toUpperCase() + s.slice(1) : s)).join('/'),
    values,
  );
  const out = [
    { form: 'upper case', path: p.toUpperCase(), caseOnly: true },
    { form: 'V1', path: p.replace(/^\/v1/, '/V1'), caseOnly: true },
    { form: 'capitalised last segment', path: capitalised, caseOnly: true },
    { form: 'leading //', path: '/' + p, caseOnly: false },
    { form: 'inner //', path: p.replace(/^\/(\w+)\//, '/$1//'), caseOnly: false },
    { form: 'leading /./', path: '/.' + p, caseOnly: false },
    { form: 'inner /./', path: p.replace(/^\/(\w+)\//, '/$1/./'), caseOnly: false },
    { form: 'inner /../', path: p.replace(/^\/(\w+)\//, '/$1/x/../'), caseOnly: false },
    { form: '%2F', path: p.replace(/^\/(\w+)\//, '/$1%2F'), caseOnly: false },
    { form: '%2f last', path: p.replace(/\/([^/]*)$/, '%2f$1'), caseOnly: false },
    { form: '%76 for v', path: p.replace(/^\/v/, '/%76'), caseOnly: false },
    { form: 'trailing /', path: p + '/', caseOnly: false },
    { form: 'trailing //', path: p + '//', caseOnly: false },
    { form: 'trailing /.', path: p + '/.', caseOnly: false },
    { form: 'upper case, trailing /', path: p.toUpperCase() + '/', caseOnly: true },
  ];
  return out.filter((v) => v.path !== p);
}

const operations = specOperations();

beforeAll(async () => {
  api = await startTestApi(prefix, { DEVHOOKS_ALLOW_PRIVATE_TARGETS: 'true' });
  port = Number(new URL(api.base).port);
  const a = await api.org('acme', 'admin');
  admin = a.key;
  ids.org_id = a.id;
  const keys = await api.call('GET', `/v1/orgs/${a.id}/keys`);
  ids.key_id = keys.body.keys[0].id;
  const hook = await api.call('POST', '/v1/webhooks', {
    token: admin,
    body: { name: 'h', url: 'http://127.0.0.1:9/hook', topics: ['alarms'] },
  });
  ids.id = hook.body.id;
});

afterAll(async () => {
  await api.close();
  redis.disconnect();
});

test('the sweep covers every /v1 operation of the OpenAPI document', () => {
  const secured = operations.filter((o) => o.secured);
  expect(secured.length).toBeGreaterThanOrEqual(16);
  expect(secured.map((o) => `${o.method} ${o.template}`)).toEqual(
    expect.arrayContaining(['POST /v1/orgs', 'POST /v1/webhooks', 'POST /v1/events', 'GET /v1/deliveries/{id}']),
  );
});

test.each([
  ['no token', undefined],
  ['a garbage token', 'Bearer not-a-token'],
  ['a malformed header', 'Basic Zm9vOmJhcg=='],
])('with %s, every form of every /v1 path answers a JSON 401 or 404 and writes nothing', async (_, auth) => {
  const before = await fingerprint(redis, prefix);
  const seen: string[] = [];
  for (const op of operations.filter((o) => o.secured)) {
    for (const v of variants(op.template, ids)) {
      const headers: Record<string, string> = { 'content-type': 'application/json' };
      if (auth) headers.authorization = auth;
      const r = await rawCall(port, { method: op.method, path: v.path, headers, body: bodyFor(op) });
      const ok = (r.status === 401 || r.status === 404) && hasErrorShape(r);
      if (!ok) seen.push(`${op.method} ${v.path} (${v.form}) → ${r.status} ${r.text.slice(0, 120)}`);
    }
  }
  expect(seen).toEqual([]);
  expect(await fingerprint(redis, prefix)).toEqual(before);
});

test('with a token, a case variant is no route, and no form of any path answers 5xx', async () => {
  const problems: string[] = [];
  for (const token of [ROOT, admin]) {
    for (const op of operations.filter((o) => o.secured)) {
      // ping waits for a worker's attempt: its variants go to a webhook that does not exist
      const values = op.template.endsWith('/ping') ? { ...ids, id: 'missing' } : ids;
      for (const v of variants(op.template, values)) {
        if (op.method !== 'GET' && !v.caseOnly) continue; // an alias that works would change data
        const r = await rawCall(port, {
          method: op.method,
          path: v.path,
          headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
          body: bodyFor(op),
        });
        if (r.status >= 500) problems.push(`${op.method} ${v.path} (${v.form}) → ${r.status} ${r.text.slice(0, 120)}`);
        else if (v.caseOnly && r.status !== 404) problems.push(`${op.method} ${v.path} (${v.form}) → ${r.status}`);
        else if (r.status >= 400 && !hasErrorShape(r)) problems.push(`${op.method} ${v.path} → non-JSON ${r.status}`);
      }
    }
  }
  expect(problems).toEqual([]);
});

test('the canonical paths still answer as before', async () => {
  const r = await rawCall(port, {
    method: 'GET',
    path: `/v1/webhooks/${ids.id}`,
    headers: { authorization: `Bearer ${admin}` },
  });
  expect(r.status).toBe(200);
  expect(r.json.id).toBe(ids.id);
  const slash = await rawCall(port, {
    method: 'GET',
    path: '/v1/webhooks/',
    headers: { authorization: `Bearer ${admin}` },
  });
  expect(slash.status).toBe(200);
  const events = await rawCall(port, {
    method: 'POST',
    path: '/v1/events',
    headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
    body: JSON.stringify({ type: 'alarm', data: { type: 'X', timestamp: 1 } }),
  });
  expect(events.status).toBe(202);
});
