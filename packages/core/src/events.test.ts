/** Checking incoming events (docs/contract.md §4): envelope and data schemas, error details, normalization. */
import { checkEvents, eventsOf, exceedsDepth, MAX_JSON_DEPTH, type StoredEvent } from './events';
import { capDetails, MAX_DETAILS, type ErrorDetail } from './validation';

const NOW = new Date('2024-05-01T12:00:00.000Z');
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

function ok(list: unknown[], batch = false): StoredEvent[] {
  const r = checkEvents(list, 'org_1', batch, NOW);
  if (!r.ok) throw new Error('expected ok, got ' + JSON.stringify(r.details));
  return r.events;
}
function bad(list: unknown[], batch = false): ErrorDetail[] {
  const r = checkEvents(list, 'org_1', batch, NOW);
  if (r.ok) throw new Error('expected details, got ok');
  return r.details;
}

/** Minimal valid data of each type of the §4 table, with its topic. */
const MINIMAL: Array<[string, string, Record<string, unknown>]> = [
  ['device-provisioned', 'deviceauth', { id: 'dev-1' }],
  ['device-status-changed', 'deviceauth', { id: 'dev-1', status: 'accepted' }],
  ['device-decommissioned', 'deviceauth', { id: 'dev-1' }],
  ['devices-inventory-changed', 'inventory', { device_id: 'dev-1', inventory: [] }],
  [
    'device-inventory-changed',
    'inventory',
    { device_id: 'dev-1', inventory: [{ name: 'os', value: 'linux', scope: 'inventory' }] },
  ],
  ['audit', 'audits', { id: 'a-1', message: 'logged in', timestamp: 1_700_000_000.5 }],
  ['device-event', 'device-events', { type: 'AP_RESTARTED', timestamp: 1_700_000_000 }],
  ['alarm', 'alarms', { type: 'device_down', timestamp: '2024-05-01T12:00:00Z' }],
  ['message', 'messages', {}],
];

describe('every event type of §4 is accepted with minimal data', () => {
  it.each(MINIMAL)('%s → topic %s', (type, topic, data) => {
    const [e] = ok([{ type, data }]);
    expect(e).toMatchObject({ type, topic, org: 'org_1', data: JSON.stringify(data), idGiven: false });
  });

  it('the device-inventory-changed alias maps to the inventory topic', () => {
    const [e] = ok([{ type: 'device-inventory-changed', data: { device_id: 'd', inventory: [] } }]);
    expect(e.topic).toBe('inventory');
    expect(e.type).toBe('device-inventory-changed');
  });

  it.each(['accepted', 'noauth', 'pending', 'preauthorized', 'rejected', 'decommissioned'])('status %s', (status) => {
    expect(ok([{ type: 'device-status-changed', data: { id: 'd', status } }])[0].topic).toBe('deviceauth');
  });

  it('keeps extra data fields, as the producer wrote them', () => {
    const data = {
      id: 'd',
      status: 'pending',
      auth_sets: [{ id: 'x' }],
      created_ts: '2024-01-01T00:00:00Z',
      vendor: { a: [1, 2] },
    };
    expect(JSON.parse(ok([{ type: 'device-status-changed', data }])[0].data)).toEqual(data);
  });
});

describe('missing required data fields', () => {
  it.each<[string, Record<string, unknown>, string]>([
    ['device-provisioned', {}, '/data/id'],
    ['device-status-changed', { status: 'accepted' }, '/data/id'],
    ['device-status-changed', { id: 'd' }, '/data/status'],
    ['device-decommissioned', {}, '/data/id'],
    ['devices-inventory-changed', { inventory: [] }, '/data/device_id'],
    ['devices-inventory-changed', { device_id: 'd' }, '/data/inventory'],
    ['device-inventory-changed', { device_id: 'd' }, '/data/inventory'],
    ['devices-inventory-changed', { device_id: 'd', inventory: [{ value: 1, scope: 's' }] }, '/data/inventory/0/name'],
    [
      'devices-inventory-changed',
      { device_id: 'd', inventory: [{ name: 'n', scope: 's' }] },
      '/data/inventory/0/value',
    ],
    ['devices-inventory-changed', { device_id: 'd', inventory: [{ name: 'n', value: 1 }] }, '/data/inventory/0/scope'],
    ['audit', { message: 'm', timestamp: 1 }, '/data/id'],
    ['audit', { id: 'a', timestamp: 1 }, '/data/message'],
    ['audit', { id: 'a', message: 'm' }, '/data/timestamp'],
    ['device-event', { timestamp: 1 }, '/data/type'],
    ['device-event', { type: 'T' }, '/data/timestamp'],
    ['alarm', { timestamp: 1 }, '/data/type'],
    ['alarm', { type: 'T' }, '/data/timestamp'],
  ])('%s %j → %s is required (single event: no index)', (type, data, path) => {
    expect(bad([{ type, data }])).toEqual([{ path, message: 'is required' }]);
  });

  it.each<[string, Record<string, unknown>, string]>([
    ['device-status-changed', { id: 'd' }, '/data/status'],
    [
      'devices-inventory-changed',
      {
        device_id: 'd',
        inventory: [
          { name: 'a', value: 1, scope: 's' },
          { name: 'b', value: 2 },
        ],
      },
      '/data/inventory/1/scope',
    ],
  ])('in a batch, the detail carries the index: %s %j', (type, data, path) => {
    const good = { type: 'message', data: {} };
    expect(bad([good, good, { type, data }], true)).toEqual([{ index: 2, path, message: 'is required' }]);
  });

  it('reports every missing field of one event', () => {
    expect(bad([{ type: 'audit', data: {} }]).map((d) => d.path)).toEqual([
      '/data/id',
      '/data/message',
      '/data/timestamp',
    ]);
  });
});

describe('bad values', () => {
  it.each<[string, unknown, string, RegExp]>([
    [
      'status outside the enum',
      { type: 'device-status-changed', data: { id: 'd', status: 'bogus' } },
      '/data/status',
      /^must be one of: accepted, noauth, pending, preauthorized, rejected, decommissioned$/,
    ],
    [
      'status of the wrong case',
      { type: 'device-status-changed', data: { id: 'd', status: 'Accepted' } },
      '/data/status',
      /must be one of/,
    ],
    ['empty device id', { type: 'device-provisioned', data: { id: '' } }, '/data/id', /fewer than 1/],
    [
      'inventory not an array',
      { type: 'devices-inventory-changed', data: { device_id: 'd', inventory: {} } },
      '/data/inventory',
      /^must be array, not object$/,
    ],
    [
      'inventory item not an object',
      { type: 'devices-inventory-changed', data: { device_id: 'd', inventory: ['x'] } },
      '/data/inventory/0',
      /^must be object, not string$/,
    ],
    [
      'alarm timestamp neither number nor date-time',
      { type: 'alarm', data: { type: 'T', timestamp: 'yesterday' } },
      '/data/timestamp',
      /RFC 3339|number/,
    ],
    ['unknown type', { type: 'device-exploded', data: {} }, '/type', /^must be one of: /],
    ['ping is not a producer type', { type: 'ping', data: {} }, '/type', /^must be one of: /],
    ['data not an object', { type: 'message', data: [] }, '/data', /^must be object, not array$/],
    ['data null', { type: 'message', data: null }, '/data', /^must be object, not null$/],
    ['site_id a number', { type: 'message', data: {}, site_id: 5 }, '/site_id', /not number/],
    ['empty group_id', { type: 'message', data: {}, group_id: '' }, '/group_id', /fewer than 1/],
    ['device_id too long', { type: 'message', data: {}, device_id: 'd'.repeat(257) }, '/device_id', /more than 256/],
    ['missing type', { data: {} }, '/type', /^is required$/],
    ['missing data', { type: 'message' }, '/data', /^is required$/],
    ['unknown top-level field', { type: 'message', data: {}, foo: 1 }, '/foo', /^is not an allowed field$/],
  ])('%s', (_label, event, path, message) => {
    const details = bad([event]);
    expect(details.length).toBeGreaterThan(0);
    for (const d of details) {
      expect(d.path).toBe(path);
      expect(d).not.toHaveProperty('index');
    }
    expect(details.some((d) => message.test(d.message))).toBe(true);
  });

  it.each(['', 'a b', 'a/b', 'é', 'a\nb', 'x'.repeat(129), 'id#1'])('bad id %j', (id) => {
    expect(bad([{ id, type: 'message', data: {} }])).toEqual([
      { path: '/id', message: 'must be 1–128 characters of A-Z a-z 0-9 . _ : -' },
    ]);
  });

  it.each(['a.b_c:d-1', 'x'.repeat(128), '1', 'A-Z.az_09:'])('good id %j is kept, idGiven true', (id) => {
    expect(ok([{ id, type: 'message', data: {} }])[0]).toMatchObject({ id, idGiven: true });
  });

  it.each(['2024-01-01', 'yesterday', '2024-13-01T00:00:00Z', '2024-01-01 00:00:00', '1714564800'])(
    'bad time %j',
    (time) => {
      expect(bad([{ type: 'message', data: {}, time }])).toEqual([
        { path: '/time', message: 'must be a valid RFC 3339 date-time' },
      ]);
    },
  );

  it.each(['2024-01-01T00:00:00Z', '2024-01-01T00:00:00.123456789Z', '2024-01-01T02:00:00+02:00'])(
    'good time %j is kept as written',
    (time) => {
      expect(ok([{ type: 'message', data: {}, time }])[0].time).toBe(time);
    },
  );

  it('non-objects in a batch are each reported at their index', () => {
    expect(bad(['x', null, 5], true)).toEqual([
      { index: 0, path: '', message: 'must be object, not string' },
      { index: 1, path: '', message: 'must be object, not null' },
      { index: 2, path: '', message: 'must be object, not number' },
    ]);
  });
});

describe('batches are checked whole', () => {
  const good = (n: number) => ({ id: `e${n}`, type: 'message', data: { n } });

  it('a batch of good events is accepted in order', () => {
    expect(ok([good(0), good(1), good(2)], true).map((e) => e.id)).toEqual(['e0', 'e1', 'e2']);
  });

  it('one bad event rejects the batch and reports its index', () => {
    const r = checkEvents([good(0), good(1), { type: 'alarm', data: { type: 'T' } }, good(3)], 'org_1', true, NOW);
    expect(r).toEqual({ ok: false, details: [{ index: 2, path: '/data/timestamp', message: 'is required' }] });
  });

  it('every bad event is reported, not only the first', () => {
    const details = bad([{ type: 'message' }, good(1), { type: 'message', data: {}, x: 1 }], true);
    expect(details).toEqual([
      { index: 0, path: '/data', message: 'is required' },
      { index: 2, path: '/x', message: 'is not an allowed field' },
    ]);
  });

  it(`details are capped at ${MAX_DETAILS} plus a summary line`, () => {
    expect(MAX_DETAILS).toBe(50);
    const list = Array.from({ length: 60 }, () => ({ type: 'message' }));
    const details = bad(list, true);
    expect(details).toHaveLength(51);
    expect(details.slice(0, 50).map((d) => d.index)).toEqual(Array.from({ length: 50 }, (_, i) => i));
    expect(details[50]).toEqual({ path: '', message: '… and 10 more errors' });
  });
});

describe('capDetails', () => {
  const d = (n: number): ErrorDetail[] => Array.from({ length: n }, (_, i) => ({ index: i, path: '/x', message: 'm' }));
  it.each<[number, number, string | undefined]>([
    [0, 0, undefined],
    [1, 1, undefined],
    [50, 50, undefined],
    [51, 51, '… and 1 more error'],
    [52, 51, '… and 2 more errors'],
    [1000, 51, '… and 950 more errors'],
  ])('%i details → %i', (n, length, summary) => {
    const out = capDetails(d(n));
    expect(out).toHaveLength(length);
    if (summary) expect(out[50]).toEqual({ path: '', message: summary });
    else expect(out).toEqual(d(n));
  });
});

describe('normalization', () => {
  it('generates a UUID id when none is given, idGiven false, distinct per event', () => {
    const events = ok(
      [
        { type: 'message', data: {} },
        { type: 'message', data: {} },
      ],
      true,
    );
    for (const e of events) {
      expect(e.id).toMatch(UUID);
      expect(e.idGiven).toBe(false);
    }
    expect(events[0].id).not.toBe(events[1].id);
  });

  it('time defaults to the arrival time', () => {
    expect(ok([{ type: 'message', data: {} }])[0].time).toBe('2024-05-01T12:00:00.000Z');
    expect(ok([{ type: 'message', data: {}, time: null }])[0].time).toBe('2024-05-01T12:00:00.000Z');
  });

  it('null site_id, group_id and device_id are treated as absent', () => {
    const [e] = ok([{ type: 'message', data: {}, site_id: null, group_id: null, device_id: null }]);
    expect(e).not.toHaveProperty('site_id');
    expect(e).not.toHaveProperty('group_id');
    expect(e).not.toHaveProperty('device_id');
  });

  it('given site_id, group_id and device_id are kept', () => {
    const [e] = ok([{ type: 'message', data: {}, site_id: 's', group_id: 'g', device_id: 'd' }]);
    expect(e).toMatchObject({ site_id: 's', group_id: 'g', device_id: 'd' });
  });

  it('stores exactly these fields', () => {
    const [e] = ok([
      { id: 'e1', type: 'alarm', data: { type: 'T', timestamp: 1 }, time: '2024-01-01T00:00:00Z', site_id: 's' },
    ]);
    expect(e).toEqual({
      id: 'e1',
      idGiven: true,
      org: 'org_1',
      type: 'alarm',
      topic: 'alarms',
      site_id: 's',
      time: '2024-01-01T00:00:00Z',
      data: '{"type":"T","timestamp":1}',
    });
  });
});

describe('eventsOf', () => {
  it.each<[string, unknown, unknown[], boolean]>([
    ['one event', { type: 'message', data: {} }, [{ type: 'message', data: {} }], false],
    ['a batch', { events: [{ type: 'message', data: {} }, 1] }, [{ type: 'message', data: {} }, 1], true],
    // an event whose only fields are `events` and type/data is an event (its `events` field is then refused)
    ['events beside type', { events: [], type: 'message' }, [{ events: [], type: 'message' }], false],
    ['an empty object is one (bad) event', {}, [{}], false],
  ])('%s', (_label, body, list, batch) => {
    expect(eventsOf(body)).toEqual({ list, batch });
  });

  it.each<[string, unknown, string]>([
    ['null', null, ''],
    ['an array', [{ type: 'message', data: {} }], ''],
    ['a string', 'x', ''],
    ['a number', 5, ''],
    ['a batch with other fields', { events: [{}], extra: 1 }, ''],
    ['events not an array', { events: {} }, '/events'],
    ['an empty batch', { events: [] }, '/events'],
  ])('refuses %s', (_label, body, path) => {
    const r = eventsOf(body);
    expect(r).toHaveProperty('error');
    expect((r as { error: ErrorDetail }).error.path).toBe(path);
    expect((r as { error: ErrorDetail }).error.message).toEqual(expect.any(String));
  });
});

describe('exceedsDepth', () => {
  /** `n` nested arrays: nestedArrays(1) is `[]`, depth 1. */
  const nestedArrays = (n: number): unknown => {
    let v: unknown = [];
    for (let i = 1; i < n; i++) v = [v];
    return v;
  };
  const nestedObjects = (n: number): unknown => {
    let v: unknown = { leaf: 1 };
    for (let i = 1; i < n; i++) v = { a: v };
    return v;
  };

  it('the default bound is 64', () => expect(MAX_JSON_DEPTH).toBe(64));

  it.each<[string, boolean, unknown]>([
    ['a scalar', false, 5],
    ['null', false, null],
    ['a string', false, 'x'.repeat(1000)],
    ['{}', false, {}],
    ['arrays 64 deep', false, nestedArrays(64)],
    ['arrays 65 deep', true, nestedArrays(65)],
    ['objects 64 deep', false, nestedObjects(64)],
    ['objects 65 deep', true, nestedObjects(65)],
    ['wide but shallow', false, { a: Array.from({ length: 10_000 }, (_, i) => ({ i })) }],
    ['deep in the second branch', true, { a: 1, b: [nestedArrays(64)] }],
  ])('%s → %s', (_label, expected, value) => {
    expect(exceedsDepth(value)).toBe(expected);
  });

  it('takes another bound', () => {
    expect(exceedsDepth(nestedArrays(3), 3)).toBe(false);
    expect(exceedsDepth(nestedArrays(4), 3)).toBe(true);
  });

  it('a 100000-deep array (built iteratively) is refused without overflowing the stack', () => {
    const deep = nestedArrays(100_000);
    let result: boolean | undefined;
    expect(() => {
      result = exceedsDepth(deep);
    }).not.toThrow();
    expect(result).toBe(true);
  });
});
