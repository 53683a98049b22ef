/** Delivery bodies by topic (docs/contract.md §6). */
import { deliveryBody, MAX_BATCH_EVENTS, menderBody, mistBody, pingData, rawBody } from './envelopes';
import type { DeliveryTopic } from './topics';

const EV = {
  id: 'evt-1',
  type: 'device-provisioned' as const,
  data: '{"id":"dev-1","n":[1,2]}',
  time: '2024-01-02T03:04:05Z',
};

describe('menderBody', () => {
  it('is {"id","type","data","time"}, in that order, data spliced in as stored', () => {
    expect(menderBody(EV)).toBe(
      '{"id":"evt-1","type":"device-provisioned","data":{"id":"dev-1","n":[1,2]},"time":"2024-01-02T03:04:05Z"}',
    );
  });

  it('escapes ids and times as JSON strings', () => {
    const body = menderBody({ ...EV, id: 'a"b\\c', time: '2024-01-02T03:04:05.123456789Z' });
    expect(JSON.parse(body)).toEqual({
      id: 'a"b\\c',
      type: 'device-provisioned',
      data: { id: 'dev-1', n: [1, 2] },
      time: '2024-01-02T03:04:05.123456789Z',
    });
  });
});

describe('mistBody', () => {
  it.each<[DeliveryTopic, string[], string]>([
    ['alarms', ['{"a":1}'], '{"topic":"alarms","events":[{"a":1}]}'],
    ['audits', ['{"a":1}', '{"b":2}', '{}'], '{"topic":"audits","events":[{"a":1},{"b":2},{}]}'],
    ['device-events', [], '{"topic":"device-events","events":[]}'],
    ['ping', ['{"id":"wh_1"}'], '{"topic":"ping","events":[{"id":"wh_1"}]}'],
  ])('%s %j', (topic, data, body) => {
    expect(mistBody(topic, data)).toBe(body);
    expect(JSON.parse(body)).toEqual({ topic, events: data.map((d) => JSON.parse(d)) });
  });
});

describe('rawBody', () => {
  it.each(['{}', '{"temp":21.5,"unit":"C"}', '{"nested":{"a":[null,true]}}'])('%s is forwarded as it is', (data) => {
    expect(rawBody({ data })).toBe(data);
  });
});

describe('deliveryBody', () => {
  const e2 = { ...EV, id: 'evt-2', data: '{"id":"dev-2"}' };

  it.each<[DeliveryTopic, string]>([
    ['deviceauth', menderBody(EV)],
    ['inventory', menderBody(EV)],
    ['audits', mistBody('audits', [EV.data])],
    ['device-events', mistBody('device-events', [EV.data])],
    ['alarms', mistBody('alarms', [EV.data])],
    ['ping', mistBody('ping', [EV.data])],
    ['messages', EV.data],
  ])('one event of %s', (topic, body) => {
    expect(deliveryBody(topic, [EV])).toBe(body);
  });

  it.each<DeliveryTopic>(['audits', 'device-events', 'alarms'])('Mist-style %s batches events in order', (topic) => {
    expect(deliveryBody(topic, [EV, e2])).toBe(`{"topic":"${topic}","events":[${EV.data},${e2.data}]}`);
    const many = Array.from({ length: MAX_BATCH_EVENTS }, (_, i) => ({ ...EV, data: `{"i":${i}}` }));
    expect(JSON.parse(deliveryBody(topic, many)).events).toHaveLength(100);
  });

  it.each<[DeliveryTopic, number]>([
    ['deviceauth', 0],
    ['deviceauth', 2],
    ['inventory', 2],
    ['messages', 0],
    ['messages', 2],
  ])('%s with %i events throws (one event a request)', (topic, n) => {
    const events = Array.from({ length: n }, () => EV);
    expect(() => deliveryBody(topic, events)).toThrow(/exactly one event/);
  });

  it('a batch holds at most 100 events', () => expect(MAX_BATCH_EVENTS).toBe(100));
});

describe('pingData', () => {
  const now = Date.parse('2024-05-01T12:00:00.999Z');
  it.each<[string, { id: string; name: string; site_id?: string | null }, string]>([
    [
      'with a site',
      { id: 'wh_1', name: 'hook', site_id: 's1' },
      '{"id":"wh_1","name":"hook","site_id":"s1","timestamp":1714564800}',
    ],
    [
      'without a site',
      { id: 'wh_1', name: 'hook' },
      '{"id":"wh_1","name":"hook","site_id":null,"timestamp":1714564800}',
    ],
    [
      'null site',
      { id: 'wh_1', name: 'hook', site_id: null },
      '{"id":"wh_1","name":"hook","site_id":null,"timestamp":1714564800}',
    ],
    [
      'a name needing escapes',
      { id: 'wh_2', name: 'a "quoted"\nname' },
      '{"id":"wh_2","name":"a \\"quoted\\"\\nname","site_id":null,"timestamp":1714564800}',
    ],
  ])('%s', (_label, webhook, expected) => {
    expect(pingData(webhook, now)).toBe(expected);
  });

  it('ignores the other fields of the webhook (never leaks its secret)', () => {
    const w = { id: 'wh_1', name: 'hook', secret: 'whsec_x', url: 'https://x' };
    expect(Object.keys(JSON.parse(pingData(w, now)))).toEqual(['id', 'name', 'site_id', 'timestamp']);
  });

  it('defaults to the current time, in whole seconds', () => {
    const t = JSON.parse(pingData({ id: 'w', name: 'n' })).timestamp;
    expect(Number.isInteger(t)).toBe(true);
    expect(t).toBeGreaterThan(1_700_000_000);
  });
});
