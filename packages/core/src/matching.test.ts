/** Which webhooks an event goes to (docs/contract.md §5): the rule, and the index that must agree with it. */
import { matches, WebhookIndex, type MatchableEvent, type MatchableWebhook } from './matching';
import { seededRandom } from '../../../test/support/seeded';
import { TOPICS, type DeliveryTopic, type Topic } from './topics';

const hook = (
  id: string,
  scope: { site_id?: string | null; group_id?: string | null } = {},
  topics: Topic[] = ['alarms'],
  enabled = true,
): MatchableWebhook => ({
  id,
  topics,
  enabled,
  ...scope,
});

/** Events of topic `alarms` with every combination of site and group. */
const EVENTS: Record<string, MatchableEvent> = {
  none: { topic: 'alarms' },
  s1: { topic: 'alarms', site_id: 's1' },
  s2: { topic: 'alarms', site_id: 's2' },
  g1: { topic: 'alarms', group_id: 'g1' },
  g2: { topic: 'alarms', group_id: 'g2' },
  s1g1: { topic: 'alarms', site_id: 's1', group_id: 'g1' },
  s1g2: { topic: 'alarms', site_id: 's1', group_id: 'g2' },
  s2g1: { topic: 'alarms', site_id: 's2', group_id: 'g1' },
  nulls: { topic: 'alarms', site_id: null, group_id: null },
};
const ALL = Object.keys(EVENTS);

describe('matches', () => {
  describe.each<[string, MatchableWebhook, string[]]>([
    ['org-wide', hook('w'), ALL],
    ['org-wide, null scope', hook('w', { site_id: null, group_id: null }), ALL],
    ['site s1', hook('w', { site_id: 's1' }), ['s1', 's1g1', 's1g2']],
    ['group g1', hook('w', { group_id: 'g1' }), ['g1', 's1g1', 's2g1']],
    ['site s1 + group g1', hook('w', { site_id: 's1', group_id: 'g1' }), ['s1g1']],
    ['site s2 + group g2', hook('w', { site_id: 's2', group_id: 'g2' }), []],
  ])('%s webhook', (_label, w, matching) => {
    it.each(ALL)(`event %s`, (name) => {
      expect(matches(w, EVENTS[name])).toBe(matching.includes(name));
    });
  });

  it.each<[string, boolean, MatchableWebhook, MatchableEvent]>([
    ['topic not subscribed', false, hook('w', {}, ['audits']), { topic: 'alarms' }],
    ['one of several topics', true, hook('w', {}, ['audits', 'alarms', 'messages']), { topic: 'alarms' }],
    ['disabled, org-wide', false, hook('w', {}, ['alarms'], false), { topic: 'alarms' }],
    ['disabled, exact scope', false, hook('w', { site_id: 's1', group_id: 'g1' }, ['alarms'], false), EVENTS.s1g1],
    ['ping, org-wide webhook of every topic', false, hook('w', {}, [...TOPICS]), { topic: 'ping' }],
    ['ping, scoped webhook', false, hook('w', { site_id: 's1' }, [...TOPICS]), { topic: 'ping', site_id: 's1' }],
    ['site ids are case-sensitive', false, hook('w', { site_id: 'S1' }), EVENTS.s1],
  ])('%s → %s', (_label, expected, w, e) => {
    expect(matches(w, e)).toBe(expected);
  });

  it.each(TOPICS)('every topic matches itself: %s', (topic) => {
    expect(matches(hook('w', {}, [topic]), { topic })).toBe(true);
    expect(
      matches(
        hook(
          'w',
          {},
          TOPICS.filter((t) => t !== topic),
        ),
        { topic },
      ),
    ).toBe(false);
  });
});

describe('WebhookIndex', () => {
  it('finds the same webhooks as matches on the fixed table', () => {
    const hooks = [
      hook('org'),
      hook('site', { site_id: 's1' }),
      hook('group', { group_id: 'g1' }),
      hook('both', { site_id: 's1', group_id: 'g1' }),
      hook('off', {}, ['alarms'], false),
      hook('audits', {}, ['audits']),
    ];
    const index = new WebhookIndex(hooks);
    expect(index.size).toBe(6); // disabled ones counted, never matched
    const ids = (e: MatchableEvent) =>
      index
        .match(e)
        .map((w) => w.id)
        .sort();
    expect(ids(EVENTS.none)).toEqual(['org']);
    expect(ids(EVENTS.s1)).toEqual(['org', 'site']);
    expect(ids(EVENTS.g1)).toEqual(['group', 'org']);
    expect(ids(EVENTS.s1g1)).toEqual(['both', 'group', 'org', 'site']);
    expect(ids(EVENTS.s2g1)).toEqual(['group', 'org']);
    expect(ids(EVENTS.nulls)).toEqual(['org']);
    expect(ids({ topic: 'audits', site_id: 's1' })).toEqual(['audits']);
    expect(ids({ topic: 'ping' })).toEqual([]);
    expect(ids({ topic: 'messages' })).toEqual([]);
  });

  it('a webhook of several topics is found under each, once per event', () => {
    const index = new WebhookIndex([hook('w', { site_id: 's1' }, ['alarms', 'audits', 'messages'])]);
    for (const topic of ['alarms', 'audits', 'messages'] as const) {
      expect(index.match({ topic, site_id: 's1' }).map((w) => w.id)).toEqual(['w']);
    }
    expect(index.match({ topic: 'inventory', site_id: 's1' })).toEqual([]);
  });

  it('an empty index matches nothing', () => {
    const index = new WebhookIndex([]);
    expect(index.size).toBe(0);
    expect(index.match(EVENTS.s1g1)).toEqual([]);
  });

  it('returns the webhook objects themselves', () => {
    const w = { ...hook('w'), url: 'https://example.com' };
    expect(new WebhookIndex([w]).match(EVENTS.none)[0]).toBe(w);
  });

  it.each([
    [
      { site_id: 'x', group_id: 'y\u0001z' },
      { topic: 'alarms' as const, site_id: 'x\u0001y', group_id: 'z' },
    ],
    [{ site_id: '\u0000*' }, { topic: 'alarms' as const, site_id: 'other' }],
  ])('agrees with matches() whatever characters ids hold (%j)', (scope, event) => {
    const w = { id: 'w', topics: ['alarms' as const], enabled: true, ...scope };
    expect(matches(w, event)).toBe(false);
    expect(new WebhookIndex([w]).match(event)).toEqual([]);
  });
});

describe('WebhookIndex.match equals filtering with matches (randomized, fixed seed)', () => {
  it.each([1, 42, 20240501])('seed %i: 300 webhooks × 500 events', (seed) => {
    const rnd = seededRandom(seed);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)];
    const SITES = [undefined, null, 's1', 's2', 's3', 'S1'];
    const GROUPS = [undefined, null, 'g1', 'g2', 'g3'];

    const webhooks: MatchableWebhook[] = Array.from({ length: 300 }, (_, i) => {
      const topics = TOPICS.filter(() => rnd() < 0.35);
      if (topics.length === 0) topics.push(pick(TOPICS));
      const w: MatchableWebhook = { id: `wh_${i}`, topics, enabled: rnd() < 0.85 };
      const site = pick(SITES);
      const group = pick(GROUPS);
      if (site !== undefined) w.site_id = site;
      if (group !== undefined) w.group_id = group;
      return w;
    });
    const events: MatchableEvent[] = Array.from({ length: 500 }, () => {
      const e: MatchableEvent = { topic: pick<DeliveryTopic>([...TOPICS, 'ping']) };
      const site = pick(SITES);
      const group = pick(GROUPS);
      if (site !== undefined) e.site_id = site;
      if (group !== undefined) e.group_id = group;
      return e;
    });

    const index = new WebhookIndex(webhooks);
    expect(index.size).toBe(300);
    let total = 0;
    for (const e of events) {
      const fromIndex = index
        .match(e)
        .map((w) => w.id)
        .sort();
      const fromRule = webhooks
        .filter((w) => matches(w, e))
        .map((w) => w.id)
        .sort();
      expect(fromIndex).toEqual(fromRule); // same set, and no webhook twice
      total += fromRule.length;
    }
    // the generator exercises the rule: plenty of matches, and plenty of non-matches
    expect(total).toBeGreaterThan(500);
    expect(total).toBeLessThan(300 * 500);
  });
});
