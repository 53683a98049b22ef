/** How events are laid out in stream entries: a fixed field order, optional fields as '', round trips. */
import type { StoredEvent } from '@devhooks/core';
import { decodeEvent, encodeEvent, entryTime, FIELDS } from './stream-codec';

/** `[field, value, ...]` as XRANGE / XREADGROUP return an entry written with FIELDS and encodeEvent. */
function flat(e: StoredEvent): string[] {
  const values = encodeEvent(e);
  return FIELDS.flatMap((f, i) => [f, values[i]]);
}

const full: StoredEvent = {
  org: 'org_1',
  id: 'evt-1',
  idGiven: true,
  type: 'device-status-changed',
  topic: 'deviceauth',
  site_id: 'site-a',
  group_id: 'group-b',
  device_id: 'dev-c',
  time: '2024-05-01T10:00:00Z',
  data: JSON.stringify({ id: 'dev-c', status: 'accepted', note: 'ünïcødé , = "q"' }),
};

describe('encodeEvent', () => {
  it('writes one value: a JSON head of the scalar fields, a newline, and the data as it is', () => {
    const [value] = encodeEvent(full);
    expect(encodeEvent(full)).toHaveLength(FIELDS.length);
    const nl = value.indexOf('\n');
    expect(JSON.parse(value.slice(0, nl))).toEqual([
      'org_1',
      'evt-1',
      'device-status-changed',
      'site-a',
      'group-b',
      'dev-c',
      '2024-05-01T10:00:00Z',
      '',
    ]);
    expect(value.slice(nl + 1)).toBe(full.data);
  });

  it('writes absent optional fields as empty strings', () => {
    const e: StoredEvent = { org: 'o', id: 'i', idGiven: false, type: 'audit', topic: 'audits', time: 't', data: '{}' };
    const [value] = encodeEvent(e);
    expect(value).toBe('["o","i","audit","","","","t",""]\n{}');
  });

  it('a newline inside a scalar field cannot cut the head short (JSON escapes it)', () => {
    const e: StoredEvent = { ...full, site_id: 'a\nb', data: '{"x":"\\n"}' };
    expect(decodeEvent(flat(e))).toEqual(e);
  });
});

describe('decodeEvent', () => {
  it('round-trips every field', () => {
    expect(decodeEvent(flat(full))).toEqual(full);
  });

  it('round-trips a partition device the data names when device_id is absent', () => {
    const { device_id: _d, ...e } = full;
    const decoded = decodeEvent(flat({ ...e, device: 'dev-from-data' }));
    expect(decoded.device).toBe('dev-from-data');
    expect(decoded.device_id).toBeUndefined();
  });

  it('derives the topic from the type', () => {
    for (const [type, topic] of [
      ['device-provisioned', 'deviceauth'],
      ['devices-inventory-changed', 'inventory'],
      ['device-inventory-changed', 'inventory'],
      ['audit', 'audits'],
      ['device-event', 'device-events'],
      ['alarm', 'alarms'],
      ['message', 'messages'],
      ['ping', 'ping'],
    ] as const) {
      const e: StoredEvent = { org: 'o', id: 'i', idGiven: true, type, topic, time: 't', data: '{}' };
      expect(decodeEvent(flat(e)).topic).toBe(topic);
    }
  });

  it('leaves empty optional fields absent (not empty strings)', () => {
    const e: StoredEvent = {
      org: 'o',
      id: 'i',
      idGiven: true,
      type: 'alarm',
      topic: 'alarms',
      time: 't',
      data: '{"a":1}',
    };
    const d = decodeEvent(flat(e));
    expect(d).toEqual(e);
    expect('site_id' in d).toBe(false);
    expect('group_id' in d).toBe(false);
    expect('device_id' in d).toBe(false);
    expect('webhook' in d).toBe(false);
  });

  it("keeps a ping's webhook", () => {
    const ping: StoredEvent = {
      org: 'o',
      id: 'evt_x',
      idGiven: true,
      type: 'ping',
      topic: 'ping',
      time: '2024-01-01T00:00:00.000Z',
      data: '{"id":"wh_1"}',
      webhook: 'wh_1',
    };
    expect(decodeEvent(flat(ping))).toEqual(ping);
  });

  it('ignores other fields and a trailing field without a value', () => {
    expect(decodeEvent(['z', 'other', ...flat(full), 'x'])).toEqual(full);
  });

  it('refuses an entry it cannot read', () => {
    expect(() => decodeEvent(['o', 'org'])).toThrow(/no "e" field/);
    expect(() => decodeEvent(['e', '["o"]'])).toThrow(/no data/);
    expect(() => decodeEvent(['e', '["o","i","nope","","","","t",""]\n{}'])).toThrow(/unknown type/);
  });
});

describe('the trace context (a trailing traceparent)', () => {
  const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';

  it('is written last, after the partition device and batch slots (empty when absent)', () => {
    const [value] = encodeEvent({ ...full, traceparent });
    const head = JSON.parse(value.slice(0, value.indexOf('\n'))) as string[];
    expect(head).toHaveLength(11);
    expect(head.slice(8)).toEqual(['', '', traceparent]);
  });

  it('round-trips alone, with a partition device, and with a batch', () => {
    const { device_id: _d, ...noDevice } = full;
    for (const e of [
      { ...full, traceparent },
      { ...noDevice, device: 'dev-from-data', traceparent },
      { ...full, batch: 'b_1', traceparent },
    ] as StoredEvent[]) {
      expect(decodeEvent(flat(e))).toEqual(e);
    }
  });

  it('an entry without it (written before, or with tracing off) decodes as before', () => {
    expect(encodeEvent(full)).toEqual(encodeEvent({ ...full, traceparent: undefined }));
    const old = ['e', '["o","i","alarm","","","","t","","dev-9","b_2"]\n{}'];
    const d = decodeEvent(old);
    expect(d).toMatchObject({ device: 'dev-9', batch: 'b_2' });
    expect('traceparent' in d).toBe(false);
  });
});

describe('entryTime', () => {
  it('is the milliseconds part of a stream id', () => {
    expect(entryTime('1714557600000-0')).toBe(1714557600000);
    expect(entryTime('1714557600000-42')).toBe(1714557600000);
    expect(entryTime('0-1')).toBe(0);
  });
});
