/** Redis key names: one place, every name hash-tagged (`{prefix}` or `{prefix:sN}`). */
import { CONSUMER_GROUP, keyPattern, redisKeys, RETRY_QUEUE, type Keys } from './keys';

/** Every name a Keys object produces, with sample arguments, by member. */
function allNames(k: Keys, shards = [0, 1, 15]): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (const [member, v] of Object.entries(k)) {
    if (member === 'prefix' || member === 'tag' || member === 'shard') continue;
    if (typeof v === 'string') out.push([member, v]);
    else if (typeof v === 'function') out.push([member, (v as (a: string) => string)('abc_123')]);
  }
  for (const n of shards) {
    const s = k.shard(n);
    out.push(
      [`shard(${n}).stream`, s.stream],
      [`shard(${n}).backlog`, s.backlog],
      [`shard(${n}).dedupe`, s.dedupe('org_1', 'evt:1')],
      [`shard(${n}).parked`, s.parked('https://hooks.example.com:8443')],
    );
  }
  return out;
}

/** Redis's hash tag: the text between the first `{` and the next `}`, when not empty. */
function hashTag(key: string): string | undefined {
  const open = key.indexOf('{');
  if (open < 0) return undefined;
  const close = key.indexOf('}', open + 1);
  return close > open + 1 ? key.slice(open + 1, close) : undefined;
}

/** Redis SCAN MATCH glob (`*`, `?`, `[...]`, `\x`) as a RegExp. */
function globToRegExp(glob: string): RegExp {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i];
    if (c === '\\') re += '\\' + glob[++i];
    else if (c === '*') re += '.*';
    else if (c === '?') re += '.';
    else re += c.replace(/[.+^${}()|[\]\\/]/g, '\\$&');
  }
  return new RegExp(`^${re}$`, 's');
}

describe('redisKeys', () => {
  describe.each(['devhooks', 'test-1', 'a.b_c-d', 'x'.repeat(64)])('prefix %s', (prefix) => {
    const k = redisKeys(prefix);

    it('exposes the prefix and its control-plane tag', () => {
      expect(k.prefix).toBe(prefix);
      expect(k.tag).toBe(`{${prefix}}`);
    });

    it.each(allNames(redisKeys(prefix)))('%s = %s carries the hash tag', (member, name) => {
      const expectedTag = member.startsWith('shard(') ? `${prefix}:s${/\d+/.exec(member)![0]}` : prefix;
      expect(name.startsWith(`{${expectedTag}}:`)).toBe(true);
      expect(hashTag(name)).toBe(expectedTag);
    });

    it('the tag is the whole hash tag', () => expect(hashTag(k.tag + ':x')).toBe(prefix));

    it('names are all distinct', () => {
      const names = allNames(k).map(([, n]) => n);
      expect(new Set(names).size).toBe(names.length);
    });

    it('every name matches keyPattern(prefix)', () => {
      const patterns = keyPattern(prefix).map(globToRegExp);
      for (const [, name] of allNames(k)) expect(patterns.some((p) => p.test(name))).toBe(true);
    });
  });

  it.each<[string, string]>([
    ['orgs', '{devhooks}:orgs'],
    ['webhookVersions', '{devhooks}:webhook-versions'],
    ['failingSince', '{devhooks}:failing-since'],
    ['breakerStates', '{devhooks}:breaker-states'],
  ])('fixed name %s = %s', (member, name) => {
    expect((redisKeys('devhooks') as unknown as Record<string, string>)[member]).toBe(name);
  });

  it.each<[string, (k: Keys) => string, string]>([
    ['orgKeys', (k) => k.orgKeys('org_1'), '{devhooks}:org:org_1:keys'],
    ['apiKey', (k) => k.apiKey('ab12'), '{devhooks}:apikey:ab12'],
    ['orgWebhooks', (k) => k.orgWebhooks('org_1'), '{devhooks}:org:org_1:webhooks'],
    ['orgWebhookState', (k) => k.orgWebhookState('org_1'), '{devhooks}:org:org_1:webhook-state'],
    ['webhookOrg', (k) => k.webhookOrg('wh_1'), '{devhooks}:webhook:wh_1:org'],
    ['deliveries', (k) => k.deliveries(493824), '{devhooks}:deliveries:493824'],
    ['webhookDeliveries', (k) => k.webhookDeliveries('wh_1'), '{devhooks}:webhook:wh_1:deliveries'],
    ['orgDeliveries', (k) => k.orgDeliveries('org_1'), '{devhooks}:org:org_1:deliveries'],
    [
      'webhookDeliveryFacet',
      (k) => k.webhookDeliveryFacet('wh_1', 'status', 'failed'),
      '{devhooks}:webhook:wh_1:deliveries:status:failed',
    ],
    ['webhookDeliveryFacets', (k) => k.webhookDeliveryFacets('wh_1'), '{devhooks}:webhook:wh_1:deliveries:facets'],
    [
      'orgDeliveryFacet',
      (k) => k.orgDeliveryFacet('o', 'status', 'pending'),
      '{devhooks}:org:o:deliveries:status:pending',
    ],
    ['pingResult', (k) => k.pingResult('dlv_1'), '{devhooks}:ping:dlv_1'],
    ['shard stream', (k) => k.shard(3).stream, '{devhooks:s3}:events'],
    ['shard backlog', (k) => k.shard(3).backlog, '{devhooks:s3}:backlog'],
    ['shard dedupe', (k) => k.shard(3).dedupe('org_1', 'evt-9'), '{devhooks:s3}:dd:org_1:evt-9'],
    ['shard parked', (k) => k.shard(3).parked('http://10.0.0.1:80'), '{devhooks:s3}:parked:http://10.0.0.1:80'],
  ])('%s', (_label, make, name) => {
    expect(make(redisKeys('devhooks'))).toBe(name);
  });

  it('distinct orgs, webhooks and event ids give distinct names', () => {
    const k = redisKeys('devhooks');
    expect(k.orgWebhooks('a')).not.toBe(k.orgWebhooks('b'));
    expect(k.shard(0).dedupe('o1', 'e')).not.toBe(k.shard(0).dedupe('o2', 'e'));
    expect(k.shard(0).stream).not.toBe(k.shard(1).stream);
  });

  it.each(['', 'a:b', 'a b', 'a{b', 'a}b', '{a}', 'a*', 'a?', 'a[b]', 'a/b', 'é', 'x'.repeat(65)])(
    'refuses prefix %j',
    (prefix) => {
      expect(() => redisKeys(prefix)).toThrow(/must be 1–64 of A-Za-z0-9._-/);
    },
  );

  it('names the consumer group and retry queue', () => {
    expect(CONSUMER_GROUP).toBe('workers');
    expect(RETRY_QUEUE).toBe('retries');
  });
});

describe('keyPattern', () => {
  it.each<[string, string[]]>([
    ['devhooks', ['{devhooks}*', '{devhooks:s*}*']],
    ['t.1', ['{t.1}*', '{t.1:s*}*']],
  ])('%s → %j', (prefix, patterns) => {
    expect(keyPattern(prefix)).toEqual(patterns);
  });

  it('does not match another prefix that merely starts the same', () => {
    const patterns = keyPattern('dev').map(globToRegExp);
    for (const [, name] of allNames(redisKeys('devhooks'))) expect(patterns.some((p) => p.test(name))).toBe(false);
  });

  it('escapes glob characters', () => {
    expect(keyPattern('a*b?[c]\\')).toEqual(['{a\\*b\\?\\[c\\]\\\\}*', '{a\\*b\\?\\[c\\]\\\\:s*}*']);
  });
});
