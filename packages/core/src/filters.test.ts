/** Webhook filters: validation (one clear detail per bad condition) and evaluation. */
import { compileFilter, filterProblems, filterSubject, type WebhookFilter } from './filters';
import { matches, WebhookIndex, type MatchableWebhook } from './matching';

const ev = (type: string, data: unknown) => filterSubject({ type, data: JSON.stringify(data) });

describe('filterProblems', () => {
  it.each<[string, unknown]>([
    ['types only', { types: ['device-status-changed'] }],
    ['equality', { data: { status: 'accepted', 'meta.n': 3, flag: true, gone: null } }],
    ['$in', { data: { status: { $in: ['accepted', 'pending'] } } }],
    ['$ne', { data: { status: { $ne: 'rejected' } } }],
    ['$exists', { data: { 'auth_sets.0.id': { $exists: true } } }],
  ])('accepts %s', (_l, f) => {
    expect(filterProblems(f, ['deviceauth'])).toEqual([]);
  });

  it.each<[string, unknown, string]>([
    ['an unknown operator', { data: { status: { $gt: 1 } } }, '/filter/data/status'],
    ['two operators at once', { data: { status: { $ne: 'a', $exists: true } } }, '/filter/data/status'],
    ['an object value', { data: { status: { a: 1 } } }, '/filter/data/status'],
    ['an array value', { data: { status: ['a'] } }, '/filter/data/status'],
    ['an empty $in', { data: { status: { $in: [] } } }, '/filter/data/status'],
    ['a non-boolean $exists', { data: { status: { $exists: 'yes' } } }, '/filter/data/status'],
    ['an empty path segment', { data: { 'a..b': 1 } }, '/filter/data/a..b'],
    ['an unknown type', { types: ['nope'] }, '/filter/types/0'],
    ['an unknown field', { where: {} }, '/filter/where'],
    ['an empty filter', {}, '/filter'],
    ['empty data', { data: {} }, '/filter/data'],
  ])('refuses %s with its path', (_l, f, path) => {
    const details = filterProblems(f, ['deviceauth']);
    expect(details.length).toBeGreaterThan(0);
    expect(details.map((d) => d.path)).toContain(path);
    for (const d of details) expect(d.message.length).toBeGreaterThan(5);
  });

  it('refuses a type outside the webhook topics', () => {
    expect(filterProblems({ types: ['alarm'] }, ['deviceauth'])).toEqual([
      { path: '/filter/types/0', message: expect.stringContaining('alarms') },
    ]);
  });
});

describe('compileFilter', () => {
  const f = (filter: WebhookFilter) => compileFilter(filter);

  it('types', () => {
    const c = f({ types: ['device-status-changed'] });
    expect(c(ev('device-status-changed', {}))).toBe(true);
    expect(c(ev('device-provisioned', {}))).toBe(false);
  });

  it('equality on dotted paths, through arrays by index', () => {
    const c = f({ data: { status: 'accepted', 'auth_sets.0.status': 'accepted' } });
    expect(c(ev('x', { status: 'accepted', auth_sets: [{ status: 'accepted' }] }))).toBe(true);
    expect(c(ev('x', { status: 'accepted', auth_sets: [{ status: 'pending' }] }))).toBe(false);
    expect(c(ev('x', { status: 'accepted' }))).toBe(false);
  });

  it('equality is strict (no type coercion)', () => {
    expect(f({ data: { n: 1 } })(ev('x', { n: '1' }))).toBe(false);
    expect(f({ data: { n: null } })(ev('x', { n: null }))).toBe(true);
    expect(f({ data: { n: null } })(ev('x', {}))).toBe(false);
  });

  it('$in, $ne, $exists', () => {
    expect(f({ data: { s: { $in: ['a', 'b'] } } })(ev('x', { s: 'b' }))).toBe(true);
    expect(f({ data: { s: { $in: ['a', 'b'] } } })(ev('x', { s: 'c' }))).toBe(false);
    expect(f({ data: { s: { $ne: 'a' } } })(ev('x', { s: 'b' }))).toBe(true);
    expect(f({ data: { s: { $ne: 'a' } } })(ev('x', {}))).toBe(true);
    expect(f({ data: { s: { $ne: 'a' } } })(ev('x', { s: 'a' }))).toBe(false);
    expect(f({ data: { 'a.b': { $exists: true } } })(ev('x', { a: { b: null } }))).toBe(true);
    expect(f({ data: { 'a.b': { $exists: true } } })(ev('x', { a: {} }))).toBe(false);
    expect(f({ data: { 'a.b': { $exists: false } } })(ev('x', { a: 5 }))).toBe(true);
  });

  it('every condition must hold', () => {
    const c = f({ types: ['device-status-changed'], data: { status: 'accepted', id: { $ne: 'd0' } } });
    expect(c(ev('device-status-changed', { status: 'accepted', id: 'd1' }))).toBe(true);
    expect(c(ev('device-status-changed', { status: 'accepted', id: 'd0' }))).toBe(false);
    expect(c(ev('device-provisioned', { status: 'accepted', id: 'd1' }))).toBe(false);
  });

  it('does not follow inherited properties', () => {
    expect(f({ data: { 'a.constructor': { $exists: true } } })(ev('x', { a: {} }))).toBe(false);
  });
});

describe('matching with filters', () => {
  const plain: MatchableWebhook = { id: 'plain', topics: ['deviceauth'], enabled: true };
  const filtered: MatchableWebhook = {
    id: 'filtered',
    topics: ['deviceauth'],
    enabled: true,
    filter: { types: ['device-status-changed'], data: { status: 'accepted' } },
  };
  const event = (type: string, status: string) => ({
    topic: 'deviceauth' as const,
    type,
    data: JSON.stringify({ id: 'd', status }),
  });

  it('the index and matches() agree', () => {
    const index = new WebhookIndex([plain, filtered]);
    for (const e of [
      event('device-status-changed', 'accepted'),
      event('device-status-changed', 'rejected'),
      event('device-provisioned', 'accepted'),
    ]) {
      expect(index.match(e).map((w) => w.id)).toEqual([plain, filtered].filter((w) => matches(w, e)).map((w) => w.id));
    }
    expect(index.match(event('device-status-changed', 'accepted')).map((w) => w.id)).toEqual(['plain', 'filtered']);
    expect(index.match(event('device-status-changed', 'rejected')).map((w) => w.id)).toEqual(['plain']);
  });

  it('parses an event data at most once however many filtered webhooks', () => {
    const many = Array.from({ length: 5 }, (_, i) => ({ ...filtered, id: `f${i}` }));
    const spy = jest.spyOn(JSON, 'parse');
    new WebhookIndex(many).match(event('device-status-changed', 'accepted'));
    expect(spy).toHaveBeenCalledTimes(1);
    spy.mockRestore();
  });

  it('webhooks without a filter never parse the data', () => {
    const spy = jest.spyOn(JSON, 'parse');
    expect(new WebhookIndex([plain]).match(event('device-status-changed', 'x'))).toHaveLength(1);
    expect(spy).not.toHaveBeenCalled();
    spy.mockRestore();
  });
});
