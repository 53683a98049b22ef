/** Mist-style batching (docs/contract.md §6): per (webhook, topic), at most 100 events, within the window. */
import { MAX_BATCH_EVENTS, type DeliveryTopic, type StoredEvent } from '@devhooks/core';
import { Batcher, type Batch } from './batcher';
import type { Target } from '../stores/webhook-directory';

const WINDOW = 1_000;

const target = (id: string) => ({ id, origin: 'http://receiver.test', path: '/in' }) as unknown as Target;

let seq = 0;
function event(topic: DeliveryTopic = 'alarms'): StoredEvent {
  seq++;
  const type = (
    { alarms: 'alarm', audits: 'audit', 'device-events': 'device-event' } as Record<string, StoredEvent['type']>
  )[topic];
  return {
    org: 'org_1',
    id: `evt-${seq}`,
    idGiven: true,
    type,
    topic,
    time: '2024-01-01T00:00:00Z',
    data: `{"n":${seq}}`,
  };
}

let batches: Batch[];
let b: Batcher;
beforeEach(() => {
  jest.useFakeTimers();
  batches = [];
  b = new Batcher(WINDOW, (batch) => batches.push(batch));
});
afterEach(() => {
  b.closeAll();
  jest.useRealTimers();
});

it('closes a batch when the window has passed since its first event', () => {
  const w = target('wh_1');
  const e1 = event();
  b.add(w, e1, '1-0', 0);
  jest.advanceTimersByTime(WINDOW - 10);
  const e2 = event();
  b.add(w, e2, '1-1', 0);
  expect(batches).toHaveLength(0);
  jest.advanceTimersByTime(9);
  expect(batches).toHaveLength(0);
  jest.advanceTimersByTime(1);
  expect(batches).toHaveLength(1);
  expect(batches[0]).toEqual({
    target: w,
    topic: 'alarms',
    events: [e1, e2],
    entryIds: ['1-0', '1-1'],
    entryShards: [0, 0],
  });
  expect('timer' in batches[0]).toBe(false);
  expect(b.waiting).toBe(0);
});

it('an event after a batch closed starts a new batch with its own window', () => {
  const w = target('wh_1');
  b.add(w, event(), '1-0', 0);
  jest.advanceTimersByTime(WINDOW);
  expect(batches).toHaveLength(1);
  const e = event();
  b.add(w, e, '2-0', 0);
  jest.advanceTimersByTime(WINDOW - 1);
  expect(batches).toHaveLength(1);
  jest.advanceTimersByTime(1);
  expect(batches).toHaveLength(2);
  expect(batches[1].events).toEqual([e]);
  expect(batches[1].entryIds).toEqual(['2-0']);
});

it(`closes at ${MAX_BATCH_EVENTS} events at once, without waiting for the window`, () => {
  expect(MAX_BATCH_EVENTS).toBe(100);
  const w = target('wh_1');
  for (let i = 0; i < MAX_BATCH_EVENTS - 1; i++) b.add(w, event(), `${i}-0`, 0);
  expect(batches).toHaveLength(0);
  expect(b.waiting).toBe(99);
  b.add(w, event(), '99-0', 0);
  expect(batches).toHaveLength(1);
  expect(batches[0].events).toHaveLength(100);
  expect(batches[0].entryIds).toEqual(Array.from({ length: 100 }, (_, i) => `${i}-0`));
  expect(b.waiting).toBe(0);
  // the closed batch's timer is gone: nothing more leaves at the window
  jest.advanceTimersByTime(WINDOW * 2);
  expect(batches).toHaveLength(1);
  expect(jest.getTimerCount()).toBe(0);
});

it('the 101st event starts the next batch', () => {
  const w = target('wh_1');
  for (let i = 0; i < 101; i++) b.add(w, event(), `${i}-0`, 0);
  expect(batches).toHaveLength(1);
  expect(b.waiting).toBe(1);
  jest.advanceTimersByTime(WINDOW);
  expect(batches.map((x) => x.events.length)).toEqual([100, 1]);
  expect(batches[1].entryIds).toEqual(['100-0']);
});

it('keeps separate batches per (webhook, topic)', () => {
  const w1 = target('wh_1');
  const w2 = target('wh_2');
  b.add(w1, event('alarms'), 'a', 0);
  b.add(w1, event('audits'), 'b', 0);
  b.add(w2, event('alarms'), 'c', 0);
  b.add(w1, event('alarms'), 'd', 0);
  b.add(w2, event('device-events'), 'e', 0);
  expect(b.waiting).toBe(5);
  jest.advanceTimersByTime(WINDOW);
  expect(batches).toHaveLength(4);
  const by = (id: string, topic: string) => batches.find((x) => x.target.id === id && x.topic === topic);
  expect(by('wh_1', 'alarms')?.entryIds).toEqual(['a', 'd']);
  expect(by('wh_1', 'audits')?.entryIds).toEqual(['b']);
  expect(by('wh_2', 'alarms')?.entryIds).toEqual(['c']);
  expect(by('wh_2', 'device-events')?.entryIds).toEqual(['e']);
  for (const x of batches) for (const e of x.events) expect(e.topic).toBe(x.topic);
});

it('100 events for one webhook do not close another webhook’s batch', () => {
  const w1 = target('wh_1');
  const w2 = target('wh_2');
  b.add(w2, event(), 'other', 0);
  for (let i = 0; i < 100; i++) b.add(w1, event(), `${i}-0`, 0);
  expect(batches).toHaveLength(1);
  expect(batches[0].target.id).toBe('wh_1');
  expect(b.waiting).toBe(1);
});

it('closeAll sends every open batch now and clears the timers', () => {
  b.add(target('wh_1'), event('alarms'), 'a', 0);
  b.add(target('wh_1'), event('audits'), 'b', 0);
  b.add(target('wh_2'), event('alarms'), 'c', 0);
  b.add(target('wh_2'), event('alarms'), 'd', 0);
  expect(b.waiting).toBe(4);
  b.closeAll();
  expect(batches).toHaveLength(3);
  expect(batches.flatMap((x) => x.entryIds).sort()).toEqual(['a', 'b', 'c', 'd']);
  expect(b.waiting).toBe(0);
  expect(jest.getTimerCount()).toBe(0);
  jest.advanceTimersByTime(WINDOW * 2);
  expect(batches).toHaveLength(3);
});

it('closeAll with nothing open sends nothing', () => {
  b.closeAll();
  expect(batches).toEqual([]);
  expect(b.waiting).toBe(0);
});

it('waiting counts events in open batches only', () => {
  expect(b.waiting).toBe(0);
  b.add(target('wh_1'), event(), 'a', 0);
  b.add(target('wh_1'), event(), 'b', 0);
  b.add(target('wh_2'), event(), 'c', 0);
  expect(b.waiting).toBe(3);
  jest.advanceTimersByTime(WINDOW);
  expect(b.waiting).toBe(0);
});
