/** Webhook bodies (docs/contract.md §3): every field rule, create / replace / patch merging, and the public view. */
import { secretProblem } from './secrets';
import {
  checkWebhookBody,
  headerProblem,
  maskHeaderValues,
  urlProblem,
  webhookView,
  type Webhook,
  type WebhookFields,
} from './webhooks';
import type { ErrorDetail } from './validation';

const BASE = { name: 'hook', url: 'https://hooks.example.com/in', topics: ['alarms'] };
const b64 = (bytes: number, fill = 7) => Buffer.alloc(bytes, fill).toString('base64');
const STD_SECRET = 'whsec_' + b64(32);
const GENERATED = /^whsec_[A-Za-z0-9+/]{43}=$/;

const EXISTING: Webhook = {
  id: 'wh_1',
  org_id: 'org_1',
  name: 'old',
  url: 'https://old.example.com/h',
  topics: ['alarms', 'audits'],
  site_id: 'site-1',
  group_id: 'group-1',
  headers: { 'X-Old': '1' },
  signing: 'standard',
  secret: STD_SECRET,
  enabled: true,
  single_event_per_message: false,
  metadata: { team: 'ops' },
  ordering: 'none',
  created_at: '2024-01-01T00:00:00.000Z',
  updated_at: '2024-01-02T00:00:00.000Z',
};

type Mode = 'create' | 'replace' | 'patch';

function accept(body: unknown, mode: Mode = 'create', existing?: Webhook) {
  const r = checkWebhookBody(body, mode, existing);
  if (!r.ok) throw new Error('expected ok, got ' + JSON.stringify(r.details));
  return r;
}
function refuse(body: unknown, mode: Mode = 'create', existing?: Webhook): ErrorDetail[] {
  const r = checkWebhookBody(body, mode, existing);
  if (r.ok) throw new Error('expected details, got ' + JSON.stringify(r.fields));
  expect(r.details.length).toBeGreaterThan(0);
  return r.details;
}
const paths = (details: ErrorDetail[]) => [...new Set(details.map((d) => d.path))];

describe('create: defaults', () => {
  it('a minimal body gets the defaults of §3 and a generated standard secret', () => {
    const r = accept(BASE);
    expect(r.fields).toEqual({
      name: 'hook',
      url: 'https://hooks.example.com/in',
      topics: ['alarms'],
      headers: {},
      signing: 'standard',
      enabled: true,
      single_event_per_message: false,
      ordering: 'none',
      secret: r.generatedSecret,
    });
    expect(r.generatedSecret).toMatch(GENERATED);
    expect(Buffer.from(r.generatedSecret!.slice(6), 'base64')).toHaveLength(32);
    expect(secretProblem('standard', r.generatedSecret!)).toBeUndefined();
  });

  it('every create generates a different secret', () => {
    expect(accept(BASE).generatedSecret).not.toBe(accept(BASE).generatedSecret);
  });

  it('keeps every optional field given', () => {
    const body = {
      ...BASE,
      topics: ['deviceauth', 'inventory', 'audits', 'device-events', 'alarms', 'messages'],
      site_id: 's',
      group_id: 'g',
      headers: { Authorization: 'Bearer x', 'X-Tab': 'a\tb', 'X-Latin1': 'café' },
      signing: 'mist',
      secret: 'm',
      enabled: false,
      single_event_per_message: true,
      metadata: { a: [1, { b: null }] },
      rate_limit: 5,
      filter: { types: ['alarm'], data: { severity: { $in: ['warn', 'critical'] } } },
      ordering: 'device',
    };
    const r = accept(body);
    expect(r.fields).toEqual(body);
    expect(r).not.toHaveProperty('generatedSecret');
  });

  it.each([
    ['mender', undefined],
    ['mist', undefined],
    ['mender', null],
    ['mist', ''],
  ])('%s with secret %j: no secret, none generated', (signing, secret) => {
    const body = secret === undefined ? { ...BASE, signing } : { ...BASE, signing, secret };
    const r = accept(body);
    expect(r.fields).not.toHaveProperty('secret');
    expect(r).not.toHaveProperty('generatedSecret');
  });

  it.each([null, ''])('standard with secret %j: one is generated (standard always signs)', (secret) => {
    const r = accept({ ...BASE, secret });
    expect(r.generatedSecret).toMatch(GENERATED);
    expect(r.fields.secret).toBe(r.generatedSecret);
  });

  it('a given standard secret is kept and nothing is generated', () => {
    const r = accept({ ...BASE, secret: STD_SECRET });
    expect(r.fields.secret).toBe(STD_SECRET);
    expect(r).not.toHaveProperty('generatedSecret');
  });
});

describe('field rules of §3 (create and replace)', () => {
  describe.each<Mode>(['create', 'replace'])('%s', (mode) => {
    const ex = mode === 'replace' ? EXISTING : undefined;
    it.each<[string, Record<string, unknown>, string]>([
      ['name of 0 characters', { ...BASE, name: '' }, '/name'],
      ['name of 101 characters', { ...BASE, name: 'n'.repeat(101) }, '/name'],
      ['name not a string', { ...BASE, name: 5 }, '/name'],
      ['url ftp', { ...BASE, url: 'ftp://example.com/x' }, '/url'],
      ['url file', { ...BASE, url: 'file:///etc/passwd' }, '/url'],
      ['url javascript', { ...BASE, url: 'javascript:alert(1)' }, '/url'],
      ['url relative', { ...BASE, url: '/hooks/in' }, '/url'],
      ['url without scheme', { ...BASE, url: 'example.com/in' }, '/url'],
      ['url empty', { ...BASE, url: '' }, '/url'],
      ['url of 2049 characters', { ...BASE, url: 'https://example.com/' + 'a'.repeat(2049 - 20) }, '/url'],
      ['url with user and password', { ...BASE, url: 'https://user:pass@example.com/in' }, '/url'],
      ['url with a user', { ...BASE, url: 'https://user@example.com/in' }, '/url'],
      ['url with a password only', { ...BASE, url: 'https://:pass@example.com/in' }, '/url'],
      ['empty topics', { ...BASE, topics: [] }, '/topics'],
      ['unknown topic', { ...BASE, topics: ['alarms', 'location'] }, '/topics/1'],
      ['ping is not a subscribable topic', { ...BASE, topics: ['ping'] }, '/topics/0'],
      ['duplicate topics', { ...BASE, topics: ['alarms', 'audits', 'alarms'] }, '/topics'],
      ['topics not an array', { ...BASE, topics: 'alarms' }, '/topics'],
      ['unknown signing', { ...BASE, signing: 'hmac' }, '/signing'],
      ['enabled not a boolean', { ...BASE, enabled: 'yes' }, '/enabled'],
      ['single_event_per_message not a boolean', { ...BASE, single_event_per_message: 1 }, '/single_event_per_message'],
      ['empty site_id', { ...BASE, site_id: '' }, '/site_id'],
      ['group_id a number', { ...BASE, group_id: 7 }, '/group_id'],
      ['metadata an array', { ...BASE, metadata: [1] }, '/metadata'],
      ['headers an array', { ...BASE, headers: ['X-A: 1'] }, '/headers'],
      ['header value not a string', { ...BASE, headers: { 'X-A': 1 } }, '/headers/X-A'],
      ['unknown field', { ...BASE, foo: 1 }, '/foo'],
      ['unknown field with a slash (escaped pointer)', { ...BASE, 'a/b': 1 }, '/a~1b'],
    ])('refuses %s', (_label, body, path) => {
      expect(paths(refuse(body, mode, ex))).toEqual([path]);
    });

    it.each<[string, string]>([
      ['missing name', 'name'],
      ['missing url', 'url'],
      ['missing topics', 'topics'],
    ])('refuses %s', (_label, field) => {
      const body: Record<string, unknown> = { ...BASE };
      delete body[field];
      expect(refuse(body, mode, ex)).toEqual([{ path: '/' + field, message: 'is required' }]);
    });

    it.each<[string, Record<string, unknown>]>([
      ['name of 1 character', { ...BASE, name: 'n' }],
      ['name of 100 characters', { ...BASE, name: 'n'.repeat(100) }],
      ['http url', { ...BASE, url: 'http://example.com' }],
      ['url of 2048 characters', { ...BASE, url: 'https://example.com/' + 'a'.repeat(2048 - 20) }],
      ['url with port, query and fragment', { ...BASE, url: 'https://example.com:8443/a?b=c#d' }],
      ['IPv6 url', { ...BASE, url: 'http://[2606:4700:4700::1111]/x' }],
      [
        'all six topics',
        { ...BASE, topics: ['deviceauth', 'inventory', 'audits', 'device-events', 'alarms', 'messages'] },
      ],
      ['site_id and group_id null', { ...BASE, site_id: null, group_id: null }],
    ])('accepts %s', (_label, body) => {
      expect(accept(body, mode, ex).fields.url).toBe(body.url);
    });

    it('messages say what is wrong', () => {
      expect(refuse({ ...BASE, url: 'ftp://x' }, mode, ex)).toEqual([
        { path: '/url', message: 'must be an absolute http or https URL' },
      ]);
      expect(refuse({ ...BASE, foo: 1 }, mode, ex)).toEqual([{ path: '/foo', message: 'is not an allowed field' }]);
      expect(refuse({ ...BASE, topics: ['location'] }, mode, ex)).toEqual([
        {
          path: '/topics/0',
          message: 'must be one of: deviceauth, inventory, audits, device-events, alarms, messages',
        },
      ]);
    });
  });

  it('a non-object body is refused', () => {
    for (const body of [null, [], 'x', 5]) {
      expect(checkWebhookBody(body, 'create')).toEqual({
        ok: false,
        details: [{ path: '', message: 'must be a webhook object' }],
      });
    }
  });

  it('details carry the batch index when one is given', () => {
    const r = checkWebhookBody({ ...BASE, url: 'ftp://x', foo: 1 }, 'create', undefined, 3);
    expect(r.ok).toBe(false);
    const details = (r as { details: ErrorDetail[] }).details;
    expect(details.every((d) => d.index === 3)).toBe(true);
    const r2 = checkWebhookBody({ ...BASE, url: 'ftp://x' }, 'create', undefined, 0);
    expect(r2).toEqual({
      ok: false,
      details: [{ index: 0, path: '/url', message: 'must be an absolute http or https URL' }],
    });
  });
});

describe('headers', () => {
  it.each([
    'Host',
    'host',
    'HOST',
    'Content-Length',
    'content-length',
    'Transfer-Encoding',
    'Connection',
    'Keep-Alive',
    'Upgrade',
    'TE',
    'Trailer',
    'Proxy-Connection',
    'webhook-signature',
    'Webhook-Signature',
    'X-Men-Signature',
    'x-men-signature',
    'X-MEN-ALGORITHM',
    'X-Mist-Signature',
    'X-Mist-Signature-v2',
    'webhook-foo',
    'Webhook-Id',
    'WEBHOOK-TIMESTAMP',
  ])('forbidden: %s', (name) => {
    expect(headerProblem(name)).toEqual(expect.any(String));
    expect(refuse({ ...BASE, headers: { [name]: 'x' } })).toEqual([
      { path: `/headers/${name}`, message: headerProblem(name) },
    ]);
  });

  it.each(['', 'X A', 'X:A', 'X-A\n', 'Ünïcode', '(x)'])('not a header name: %j', (name) => {
    expect(headerProblem(name)).toBe('is not a valid HTTP header name');
    expect(paths(refuse({ ...BASE, headers: { [name]: 'x' } }))).toEqual([`/headers/${name}`]);
  });

  it.each(['Authorization', 'X-Api-Key', 'x-webhook-foo', 'webhook', 'X-Men', "X!#$%&'*+.^_`|~"])(
    'allowed: %j',
    (name) => {
      expect(headerProblem(name)).toBeUndefined();
      expect(accept({ ...BASE, headers: { [name]: 'v' } }).fields.headers).toEqual({ [name]: 'v' });
    },
  );

  it.each([
    ['a newline', 'a\nb'],
    ['a carriage return and a smuggled header', 'a\r\nX-Evil: 1'],
    ['NUL', 'a\u0000b'],
    ['DEL', 'a\u007fb'],
    ['a character outside Latin-1', 'a\u2028b'],
  ])('a value with %s is refused', (_label, value) => {
    expect(refuse({ ...BASE, headers: { 'X-A': value } })).toEqual([
      { path: '/headers/X-A', message: 'value must not contain control characters or line breaks' },
    ]);
  });

  it('the same name twice, in another case, is refused', () => {
    expect(refuse({ ...BASE, headers: { 'X-A': '1', 'x-a': '2' } })).toEqual([
      { path: '/headers/x-a', message: 'is given twice (header names ignore case)' },
    ]);
  });

  it('names and values together: 4096 bytes accepted, 4097 refused', () => {
    const fit = { 'X-Big': 'a'.repeat(4096 - 5) };
    expect(accept({ ...BASE, headers: fit }).fields.headers).toEqual(fit);
    const over = { 'X-Big': 'a'.repeat(4096 - 4) };
    expect(refuse({ ...BASE, headers: over })).toEqual([
      { path: '/headers', message: 'must be at most 4096 bytes in all (names and values), not 4097' },
    ]);
  });

  it('the bound is over all headers together, in bytes (UTF-8)', () => {
    const many = Object.fromEntries(Array.from({ length: 10 }, (_, i) => [`X-H${i}`, 'v'.repeat(406)])); // 10 × 410 = 4100
    expect(paths(refuse({ ...BASE, headers: many }))).toEqual(['/headers']);
    const latin = { 'X-A': 'é'.repeat(2047) }; // 3 + 2 × 2047 = 4097 bytes
    expect(paths(refuse({ ...BASE, headers: latin }))).toEqual(['/headers']);
  });
});

describe('metadata', () => {
  // JSON.stringify({k: 'x' × n}) is n + 8 bytes
  it('4096 bytes of JSON accepted, 4097 refused', () => {
    expect(accept({ ...BASE, metadata: { k: 'x'.repeat(4088) } }).fields.metadata).toEqual({ k: 'x'.repeat(4088) });
    expect(refuse({ ...BASE, metadata: { k: 'x'.repeat(4089) } })).toEqual([
      { path: '/metadata', message: 'must be at most 4096 bytes as JSON, not 4097' },
    ]);
  });
});

describe('secrets', () => {
  it.each<[string, string, string | undefined]>([
    ['standard', 'whsec_' + b64(23), '/secret'],
    ['standard', 'whsec_' + b64(24), undefined],
    ['standard', 'whsec_' + b64(32), undefined],
    ['standard', 'whsec_' + b64(64), undefined],
    ['standard', 'whsec_' + b64(65), '/secret'],
    ['standard', 'whsec_not*base64!', '/secret'],
    ['standard', 'whsec_' + b64(32).slice(0, -1), '/secret'], // broken padding
    ['standard', b64(32), '/secret'], // no prefix
    ['standard', 'whsec_', '/secret'],
    ['mender', 'ab', undefined],
    ['mender', 'AB09', undefined],
    ['mender', 'a'.repeat(128), undefined],
    ['mender', 'abc', '/secret'], // odd length
    ['mender', 'a'.repeat(130), '/secret'],
    ['mender', 'zz', '/secret'],
    ['mender', '0x12', '/secret'],
    ['mist', 'x', undefined],
    ['mist', 'x'.repeat(256), undefined],
    ['mist', '🔑'.repeat(256), undefined], // characters, not UTF-16 units
    ['mist', 'x'.repeat(257), '/secret'],
    ['mist', 'whsec_anything', undefined],
  ])('%s secret %j → %s', (signing, secret, path) => {
    const body = { ...BASE, signing, secret };
    if (path === undefined) {
      const r = accept(body);
      expect(r.fields.secret).toBe(secret);
      expect(r).not.toHaveProperty('generatedSecret');
    } else {
      expect(paths(refuse(body))).toEqual([path]);
    }
  });
});

describe('replace (PUT)', () => {
  it('an absent secret keeps the old one, nothing generated', () => {
    const r = accept({ ...BASE, name: 'new' }, 'replace', EXISTING);
    expect(r.fields.secret).toBe(STD_SECRET);
    expect(r).not.toHaveProperty('generatedSecret');
  });

  it('a given secret replaces the old one', () => {
    const s = 'whsec_' + b64(24, 1);
    expect(accept({ ...BASE, secret: s }, 'replace', EXISTING).fields.secret).toBe(s);
  });

  it('is a full replace: absent optional fields fall back to their defaults', () => {
    const r = accept(BASE, 'replace', { ...EXISTING, enabled: false, single_event_per_message: true });
    expect(r.fields).toEqual({
      name: 'hook',
      url: 'https://hooks.example.com/in',
      topics: ['alarms'],
      headers: {},
      signing: 'standard',
      enabled: true,
      single_event_per_message: false,
      ordering: 'none',
      secret: STD_SECRET,
    });
  });

  it('an old secret invalid for the new signing is not kept', () => {
    const r = accept({ ...BASE, signing: 'mender' }, 'replace', EXISTING);
    expect(r.fields).not.toHaveProperty('secret');
    const mender: Webhook = { ...EXISTING, signing: 'mender', secret: 'abcd' };
    const r2 = accept(BASE, 'replace', mender); // back to standard: a fresh secret
    expect(r2.generatedSecret).toMatch(GENERATED);
    expect(r2.fields.secret).toBe(r2.generatedSecret);
  });

  it('secret null clears a mender secret', () => {
    const mender: Webhook = { ...EXISTING, signing: 'mender', secret: 'abcd' };
    expect(accept({ ...BASE, signing: 'mender', secret: null }, 'replace', mender).fields).not.toHaveProperty('secret');
  });
});

describe('patch (PATCH)', () => {
  const unchanged: WebhookFields = {
    name: EXISTING.name,
    url: EXISTING.url,
    topics: EXISTING.topics,
    site_id: EXISTING.site_id,
    group_id: EXISTING.group_id,
    headers: EXISTING.headers,
    signing: EXISTING.signing,
    secret: EXISTING.secret,
    enabled: EXISTING.enabled,
    single_event_per_message: EXISTING.single_event_per_message,
    metadata: EXISTING.metadata,
    ordering: 'none',
  };

  it.each<[string, Record<string, unknown>, Partial<WebhookFields>]>([
    ['enabled', { enabled: false }, { enabled: false }],
    ['name', { name: 'renamed' }, { name: 'renamed' }],
    ['url', { url: 'http://new.example.com' }, { url: 'http://new.example.com' }],
    ['topics', { topics: ['messages'] }, { topics: ['messages'] }],
    ['site_id', { site_id: 'site-2' }, { site_id: 'site-2' }],
    ['headers (replaced as a whole)', { headers: { 'X-New': '2' } }, { headers: { 'X-New': '2' } }],
    ['metadata', { metadata: { b: 2 } }, { metadata: { b: 2 } }],
    ['single_event_per_message', { single_event_per_message: true }, { single_event_per_message: true }],
    ['secret (rotation)', { secret: 'whsec_' + b64(24, 3) }, { secret: 'whsec_' + b64(24, 3) }],
    ['several fields', { enabled: false, name: 'x' }, { enabled: false, name: 'x' }],
  ])('changes only %s', (_label, body, change) => {
    const r = accept(body, 'patch', EXISTING);
    expect(r.fields).toEqual({ ...unchanged, ...change });
    expect(r).not.toHaveProperty('generatedSecret');
  });

  it.each<[string, Record<string, unknown>, keyof WebhookFields]>([
    ['site_id: null clears the site', { site_id: null }, 'site_id'],
    ['group_id: null clears the group', { group_id: null }, 'group_id'],
  ])('%s', (_label, body, field) => {
    const r = accept(body, 'patch', EXISTING);
    expect(r.fields).not.toHaveProperty(field);
    const rest = { ...unchanged };
    delete rest[field];
    expect(r.fields).toEqual(rest);
  });

  it.each<[string, Record<string, unknown>]>([
    ['metadata: null clears the metadata', { metadata: null }],
    ['headers: null clears the headers', { headers: null }],
  ])('%s', (_label, body) => {
    const r = accept(body, 'patch', EXISTING);
    if ('metadata' in body) expect(r.fields).not.toHaveProperty('metadata');
    else expect(r.fields.headers).toEqual({});
  });

  it.each<[string, Record<string, unknown>]>([
    ['an empty patch', {}],
    ['only read-only fields', { id: 'wh_2', org_id: 'org_2', created_at: 'x', has_secret: false }],
  ])('refuses %s', (_label, body) => {
    expect(refuse(body, 'patch', EXISTING)).toEqual([{ path: '', message: 'names no field to change' }]);
  });

  it.each<[string, Record<string, unknown>, string]>([
    ['a bad url', { url: 'ftp://x' }, '/url'],
    ['an empty name', { name: '' }, '/name'],
    ['empty topics', { topics: [] }, '/topics'],
    ['a forbidden header', { headers: { Host: 'x' } }, '/headers/Host'],
    ['an unknown field', { colour: 'red' }, '/colour'],
    ['a secret invalid for the current signing', { secret: 'abcd' }, '/secret'],
  ])('refuses %s', (_label, body, path) => {
    expect(paths(refuse(body, 'patch', EXISTING))).toEqual([path]);
  });

  it('a new signing is checked against the secret given with it', () => {
    expect(accept({ signing: 'mender', secret: 'abcd' }, 'patch', EXISTING).fields).toMatchObject({
      signing: 'mender',
      secret: 'abcd',
    });
    expect(paths(refuse({ signing: 'mender', secret: 'xyz' }, 'patch', EXISTING))).toEqual(['/secret']);
  });

  it('secret null on a standard webhook rotates to a fresh generated secret', () => {
    const r = accept({ secret: null }, 'patch', EXISTING);
    expect(r.generatedSecret).toMatch(GENERATED);
    expect(r.generatedSecret).not.toBe(STD_SECRET);
    expect(r.fields.secret).toBe(r.generatedSecret);
  });

  it('secret null on a mist webhook removes it', () => {
    const mist: Webhook = { ...EXISTING, signing: 'mist', secret: 'm' };
    expect(accept({ secret: null }, 'patch', mist).fields).not.toHaveProperty('secret');
  });

  it('the stored fields never include read-only ones', () => {
    const r = accept({ enabled: false }, 'patch', { ...EXISTING, disabled_reason: 'gone (410)' });
    for (const f of ['id', 'org_id', 'created_at', 'updated_at', 'disabled_reason'])
      expect(r.fields).not.toHaveProperty(f);
  });
});

describe('read-only fields are ignored (GET → edit → PUT)', () => {
  const readOnly = {
    id: 'wh_other',
    org_id: 'org_other',
    created_at: '2020-01-01T00:00:00Z',
    updated_at: '2020-01-01T00:00:00Z',
    has_secret: true,
    disabled_reason: 'x',
    for_site: true,
    created_time: 1,
    modified_time: 2,
  };
  it.each<Mode>(['create', 'replace', 'patch'])('%s', (mode) => {
    const body = mode === 'patch' ? { ...readOnly, name: 'x' } : { ...BASE, ...readOnly };
    const r = accept(body, mode, mode === 'create' ? undefined : EXISTING);
    for (const f of Object.keys(readOnly)) expect(r.fields).not.toHaveProperty(f);
  });
});

describe('urlProblem', () => {
  it.each<[string, string | undefined]>([
    ['https://example.com', undefined],
    ['http://example.com:8080/a?b#c', undefined],
    ['HTTPS://EXAMPLE.COM/', undefined],
    ['ftp://example.com', 'must be an absolute http or https URL'],
    ['not a url', 'must be an absolute http or https URL'],
    ['http://', 'must be an absolute http or https URL'],
    ['https://u:p@example.com', 'must not carry credentials; put them in headers instead'],
    ['https://example.com/' + 'a'.repeat(2029), 'must be at most 2048 characters'],
  ])('%j → %j', (url, problem) => {
    expect(urlProblem(url)).toBe(problem);
  });
});

describe('delivery controls fields', () => {
  it.each<[string, Record<string, unknown>, string]>([
    ['rate_limit 0', { rate_limit: 0 }, '/rate_limit'],
    ['rate_limit 10001', { rate_limit: 10_001 }, '/rate_limit'],
    ['rate_limit 1.5', { rate_limit: 1.5 }, '/rate_limit'],
    ['ordering other', { ordering: 'site' }, '/ordering'],
    ['filter bad condition', { filter: { data: { 'a.b': { $gt: 1 } } } }, '/filter/data/a.b'],
    ['filter type off topic', { filter: { types: ['device-provisioned'] } }, '/filter/types/0'],
  ])('refuses %s', (_l, change, path) => {
    expect(paths(refuse({ ...BASE, ...change }))).toContain(path);
  });

  it('null clears rate_limit and filter on PATCH; other fields keep them', () => {
    const w: Webhook = { ...EXISTING, rate_limit: 5, filter: { types: ['alarm'] } };
    expect(accept({ name: 'x' }, 'patch', w).fields).toMatchObject({ rate_limit: 5, filter: { types: ['alarm'] } });
    const cleared = accept({ rate_limit: null, filter: null }, 'patch', w).fields;
    expect(cleared).not.toHaveProperty('rate_limit');
    expect(cleared).not.toHaveProperty('filter');
  });

  it('changing topics re-checks the filter types', () => {
    const w: Webhook = { ...EXISTING, filter: { types: ['alarm'] } };
    expect(paths(refuse({ topics: ['audits'] }, 'patch', w))).toEqual(['/filter/types/0']);
  });

  it('a rotation in progress survives edits but not a new secret', () => {
    const w: Webhook = {
      ...EXISTING,
      previous_secret: 'whsec_' + b64(24, 9),
      previous_secret_expires_at: '2999-01-01T00:00:00.000Z',
    };
    expect(accept({ name: 'x' }, 'patch', w).fields.previous_secret).toBe(w.previous_secret);
    expect(accept({ ...BASE }, 'replace', w).fields.previous_secret).toBe(w.previous_secret);
    const r = accept({ secret: 'whsec_' + b64(24, 4) }, 'patch', w);
    expect(r.fields).not.toHaveProperty('previous_secret');
    expect(r.fields).not.toHaveProperty('previous_secret_expires_at');
  });

  it('the view never shows the previous secret, and its expiry only while it signs', () => {
    const w: Webhook = {
      ...EXISTING,
      previous_secret: 'whsec_' + b64(24, 9),
      previous_secret_expires_at: '2999-01-01T00:00:00.000Z',
    };
    const v = webhookView(w);
    expect(JSON.stringify(v)).not.toContain(w.previous_secret!);
    expect(v.previous_secret_expires_at).toBe('2999-01-01T00:00:00.000Z');
    expect(webhookView(w, Date.parse('3000-01-01T00:00:00Z'))).not.toHaveProperty('previous_secret_expires_at');
  });
});

describe('webhookView', () => {
  it.each<[string, string | undefined, boolean]>([
    ['with a secret', STD_SECRET, true],
    ['without a secret', undefined, false],
    ['with an empty secret', '', false],
  ])('%s → has_secret %s, never the secret', (_label, secret, hasSecret) => {
    const w: Webhook = { ...EXISTING, secret };
    if (secret === undefined) delete w.secret;
    const view = webhookView(w);
    expect(view).not.toHaveProperty('secret');
    expect(view.has_secret).toBe(hasSecret);
    expect(JSON.stringify(view)).not.toContain(STD_SECRET);
    const { secret: _s, ...rest } = w;
    expect(view).toEqual({ ...rest, headers: { 'X-Old': '***' }, has_secret: hasSecret });
  });

  it('does not modify the stored webhook', () => {
    const w: Webhook = { ...EXISTING };
    webhookView(w);
    expect(w.secret).toBe(STD_SECRET);
  });
});

describe('header values are write-only (issue 13, defect 4)', () => {
  const STORED: Webhook = { ...EXISTING, headers: { Authorization: 'Bearer receiver-cred', 'X-Tenant': 't1' } };

  it('the view shows every header name and no value', () => {
    const view = webhookView(STORED);
    expect(view.headers).toEqual({ Authorization: '***', 'X-Tenant': '***' });
    expect(JSON.stringify(view)).not.toContain('receiver-cred');
    expect(STORED.headers.Authorization).toBe('Bearer receiver-cred');
    expect(maskHeaderValues({})).toEqual({});
  });

  it.each<Mode>(['replace', 'patch'])('%s: "***" keeps the stored value, names ignoring case', (mode) => {
    const body = { ...BASE, headers: { authorization: '***', 'X-Tenant': 't2', 'X-New': 'n' } };
    expect(accept(body, mode, STORED).fields.headers).toEqual({
      authorization: 'Bearer receiver-cred',
      'X-Tenant': 't2',
      'X-New': 'n',
    });
  });

  it('patch: a view sent back whole keeps every stored value', () => {
    const view = webhookView(STORED);
    expect(accept({ headers: view.headers }, 'patch', STORED).fields.headers).toEqual(STORED.headers);
  });

  it('patch without headers keeps them; headers left out of a PUT are dropped', () => {
    expect(accept({ enabled: false }, 'patch', STORED).fields.headers).toEqual(STORED.headers);
    expect(accept({ ...BASE, headers: { Authorization: '***' } }, 'replace', STORED).fields.headers).toEqual({
      Authorization: 'Bearer receiver-cred',
    });
  });

  it('"***" for a header with no stored value is refused, on create too', () => {
    const message = '"***" keeps a stored value, and this header has none';
    expect(refuse({ ...BASE, headers: { 'X-Other': '***' } }, 'patch', STORED)).toEqual([
      { path: '/headers/X-Other', message },
    ]);
    expect(refuse({ ...BASE, headers: { Authorization: '***' } })).toEqual([
      { path: '/headers/Authorization', message },
    ]);
  });
});
