import { checkEvents, partitionKey } from './events';
import { deviceKeyOf, shardOf } from './partitioning';

describe('deviceKeyOf (docs/contract.md §7)', () => {
  it.each([
    ['device-provisioned', { id: 'd1' }, 'd1'],
    ['device-status-changed', { id: 'd2', status: 'accepted' }, 'd2'],
    ['device-decommissioned', { id: 'd3' }, 'd3'],
    ['devices-inventory-changed', { device_id: 'd4', inventory: [] }, 'd4'],
    ['device-inventory-changed', { device_id: 'd5', inventory: [] }, 'd5'],
    ['audit', { id: 'not-a-device', message: 'm', timestamp: 1 }, undefined],
    ['message', { id: 'x' }, undefined],
    ['device-event', { type: 'AP_RESTARTED', timestamp: 1 }, undefined],
  ] as const)('%s with %j → %s', (type, data, want) => {
    expect(deviceKeyOf(type, undefined, data)).toBe(want);
  });

  it('prefers device_id to what the data says', () => {
    expect(deviceKeyOf('device-status-changed', 'top', { id: 'inner', status: 'accepted' })).toBe('top');
  });
});

describe('partitionKey of checked events', () => {
  it('is the device_id, else the device the data names, else the event id', () => {
    const r = checkEvents(
      [
        { id: 'e1', type: 'device-status-changed', device_id: 'dev-top', data: { id: 'dev-in', status: 'accepted' } },
        { id: 'e2', type: 'device-status-changed', data: { id: 'dev-in', status: 'accepted' } },
        { id: 'e3', type: 'devices-inventory-changed', data: { device_id: 'dev-inv', inventory: [] } },
        { id: 'e4', type: 'audit', data: { id: 'a', message: 'm', timestamp: 1 } },
      ],
      'org_1',
      true,
    );
    if (!r.ok) throw new Error(JSON.stringify(r.details));
    expect(r.events.map(partitionKey)).toEqual(['dev-top', 'dev-in', 'dev-inv', 'e4']);
    expect(r.events[0].device).toBeUndefined(); // device_id says it already
    expect(r.events[1].device).toBe('dev-in');
  });
});

describe('shardOf', () => {
  it('is 0 with one shard', () => {
    expect(shardOf('org', 'anything', 1)).toBe(0);
  });

  it('is stable, within range, and spreads keys over every shard', () => {
    const seen = new Map<number, number>();
    for (let i = 0; i < 4_000; i++) {
      const s = shardOf('org_1', `device-${i}`, 16);
      expect(s).toBe(shardOf('org_1', `device-${i}`, 16));
      expect(s).toBeGreaterThanOrEqual(0);
      expect(s).toBeLessThan(16);
      seen.set(s, (seen.get(s) ?? 0) + 1);
    }
    expect(seen.size).toBe(16);
    for (const n of seen.values()) expect(n).toBeGreaterThan(150); // 250 each on average
  });

  it('keeps orgs apart: one key in two orgs may land on different shards', () => {
    const differs = Array.from({ length: 50 }, (_, i) => shardOf('a', `k${i}`, 16) !== shardOf('b', `k${i}`, 16));
    expect(differs.some(Boolean)).toBe(true);
  });
});
