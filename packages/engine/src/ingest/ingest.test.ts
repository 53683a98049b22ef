/** Appending events to the stream over a real Redis (contract §4): atomic, deduplicated, bounded. */
import type { Redis } from 'ioredis';
import { CONSUMER_GROUP, redisKeys, type StoredEvent } from '@devhooks/core';
import { cleanPrefix, testPrefix, testRedis } from '../../../../test/support/redis';
import { appendEvents, backlogSize, DEDUPE_WINDOW_SECONDS } from './ingest';
import { luaCommands } from '../redis/lua-commands';
import { decodeEvent } from '../log/stream-codec';

const prefix = testPrefix(__filename);
const keys = redisKeys(prefix);
let redis: Redis;

beforeAll(() => {
  redis = testRedis();
});
afterAll(async () => {
  await cleanPrefix(prefix);
  redis.disconnect();
});

/** Each test uses its own shard, so streams and counters start empty. */
let shardNo = 0;
let shard: ReturnType<typeof keys.shard>;
let n: number;
beforeEach(() => {
  n = ++shardNo;
  shard = keys.shard(n);
});

let seq = 0;
function ev(id?: string, org = 'org_a', over: Partial<StoredEvent> = {}): StoredEvent {
  seq++;
  return {
    org,
    id: id ?? `gen-${seq}-${Math.random().toString(36).slice(2)}`,
    idGiven: id !== undefined,
    type: 'device-status-changed',
    topic: 'deviceauth',
    time: '2024-01-01T00:00:00Z',
    data: JSON.stringify({ id: 'dev', status: 'accepted', n: seq }),
    ...over,
  };
}

const append = (events: StoredEvent[], maxBacklog = 1_000) =>
  appendEvents(redis, events, { keys, shard: n, maxBacklog });

describe('appendEvents', () => {
  it('appends every event, in order, and returns one entry id per event', async () => {
    const events = [ev('e1'), ev('e2', 'org_a', { site_id: 's1', device_id: 'd1' }), ev()];
    const r = await append(events);
    expect(r).toEqual({
      ok: true,
      accepted: 3,
      duplicates: 0,
      ids: events.map((e) => e.id),
      entryIds: expect.any(Array),
    });
    if (!r.ok) return;
    const entries = await redis.xrange(shard.stream, '-', '+');
    expect(entries.map(([id]) => id)).toEqual(r.entryIds);
    expect(entries.map(([, f]) => decodeEvent(f))).toEqual(events.map((e) => ({ ...e, idGiven: true })));
    expect(await backlogSize(redis, keys, n)).toBe(3);
  });

  it('uses shard 0 when none is given', async () => {
    const r = await appendEvents(redis, [ev('s0')], { keys, maxBacklog: 0 });
    expect(r.ok).toBe(true);
    expect(await redis.xlen(keys.shard(0).stream)).toBe(1);
    expect(await backlogSize(redis, keys)).toBe(1);
  });

  it('counts a repeat of (org, id) within 24 h as a duplicate and does not append it', async () => {
    const first = await append([ev('dup-1')]);
    expect(first).toMatchObject({ ok: true, accepted: 1, duplicates: 0 });
    const again = await append([ev('dup-1'), ev('fresh-1')]);
    expect(again).toMatchObject({ ok: true, accepted: 1, duplicates: 1, ids: ['dup-1', 'fresh-1'] });
    if (!again.ok) return;
    expect(again.entryIds[0]).toBe('');
    expect(again.entryIds[1]).toMatch(/^\d+-\d+$/);
    expect(await redis.xlen(shard.stream)).toBe(2);
    expect(await backlogSize(redis, keys, n)).toBe(2);
  });

  it('keeps the duplicate-window key for at most 24 h', async () => {
    await append([ev('ttl-1')]);
    const ttl = await redis.ttl(shard.dedupe('org_a', 'ttl-1'));
    expect(DEDUPE_WINDOW_SECONDS).toBe(86_400);
    expect(ttl).toBeGreaterThan(86_400 - 60);
    expect(ttl).toBeLessThanOrEqual(86_400);
  });

  it('a repeat after the window has passed is accepted again', async () => {
    await append([ev('old-1')]);
    await redis.del(shard.dedupe('org_a', 'old-1')); // as if 24 h had passed
    expect(await append([ev('old-1')])).toMatchObject({ ok: true, accepted: 1, duplicates: 0 });
    expect(await redis.xlen(shard.stream)).toBe(2);
  });

  it('the same id in another org is not a duplicate', async () => {
    await append([ev('shared-id', 'org_a')]);
    const r = await append([ev('shared-id', 'org_b')]);
    expect(r).toMatchObject({ ok: true, accepted: 1, duplicates: 0 });
    expect(await redis.xlen(shard.stream)).toBe(2);
    expect(await redis.exists(shard.dedupe('org_a', 'shared-id'), shard.dedupe('org_b', 'shared-id'))).toBe(2);
  });

  it('a repeat within one batch is a duplicate', async () => {
    const r = await append([ev('same'), ev('other'), ev('same')]);
    expect(r).toMatchObject({ ok: true, accepted: 2, duplicates: 1, ids: ['same', 'other', 'same'] });
    if (!r.ok) return;
    expect(r.entryIds[2]).toBe('');
    expect(r.entryIds[0]).not.toBe('');
    expect(await redis.xlen(shard.stream)).toBe(2);
    expect(await backlogSize(redis, keys, n)).toBe(2);
  });

  it('a batch of only duplicates appends nothing and leaves the backlog alone', async () => {
    await append([ev('x1'), ev('x2')]);
    const r = await append([ev('x1'), ev('x2')]);
    expect(r).toMatchObject({ ok: true, accepted: 0, duplicates: 2, entryIds: ['', ''] });
    expect(await redis.xlen(shard.stream)).toBe(2);
    expect(await backlogSize(redis, keys, n)).toBe(2);
  });

  it('generated ids (idGiven false) create no duplicate-window key', async () => {
    const events = [ev(), ev()];
    const r = await append(events);
    expect(r).toMatchObject({ ok: true, accepted: 2, duplicates: 0 });
    for (const e of events) expect(await redis.exists(shard.dedupe(e.org, e.id))).toBe(0);
    const [, found] = await redis.scan('0', 'MATCH', `${shard.dedupe('*', '*')}`, 'COUNT', 10_000);
    expect(found).toEqual([]);
  });

  it('an event not given an id is never a duplicate, even with a colliding id', async () => {
    const a = ev('given');
    const b = { ...ev(), id: 'given' }; // same text, but generated
    const r = await append([a, b]);
    expect(r).toMatchObject({ ok: true, accepted: 2, duplicates: 0 });
  });

  it('refuses the whole batch when the backlog is at its bound: nothing appended, no dedupe keys', async () => {
    await append([ev('b1'), ev('b2'), ev('b3')], 5);
    expect(await backlogSize(redis, keys, n)).toBe(3);
    await append([ev('b4'), ev('b5')], 5);
    expect(await backlogSize(redis, keys, n)).toBe(5);
    const r = await append([ev('b6'), ev(), ev('b1')], 5);
    expect(r).toEqual({ ok: false, backlog: 5 });
    expect(await redis.xlen(shard.stream)).toBe(5);
    expect(await backlogSize(redis, keys, n)).toBe(5);
    expect(await redis.exists(shard.dedupe('org_a', 'b6'))).toBe(0);
    // ...so once there is room, b6 is not a "duplicate"
    await redis.set(shard.backlog, 0);
    expect(await append([ev('b6')], 5)).toMatchObject({ ok: true, accepted: 1, duplicates: 0 });
  });

  it('accepts a batch while the backlog is below its bound', async () => {
    await append([ev(), ev(), ev(), ev()], 5);
    expect(await append([ev()], 5)).toMatchObject({ ok: true, accepted: 1 });
    expect(await append([ev()], 5)).toEqual({ ok: false, backlog: 5 });
  });

  it('maxBacklog 0 means unbounded', async () => {
    await redis.set(shard.backlog, 10_000_000);
    const r = await append([ev('p1'), ev()], 0);
    expect(r).toMatchObject({ ok: true, accepted: 2 });
    expect(await backlogSize(redis, keys, n)).toBe(10_000_002);
  });

  it('backlogSize is 0 for a shard never written', async () => {
    expect(await backlogSize(redis, keys, 999)).toBe(0);
  });
});

describe('luaCommands(redis).ack', () => {
  async function pendingEntries(count: number): Promise<string[]> {
    const r = await append(
      Array.from({ length: count }, () => ev()),
      0,
    );
    if (!r.ok) throw new Error('append refused');
    await redis.xgroup('CREATE', shard.stream, CONSUMER_GROUP, '0', 'MKSTREAM');
    const read = (await redis.xreadgroup(
      'GROUP',
      CONSUMER_GROUP,
      'c1',
      'COUNT',
      100,
      'STREAMS',
      shard.stream,
      '>',
    )) as Array<[string, Array<[string, string[]]>]>;
    const ids = read[0][1].map(([id]) => id);
    expect(ids).toEqual(r.entryIds);
    return ids;
  }

  it('lowers the backlog by the entries acknowledged', async () => {
    const ids = await pendingEntries(4);
    expect(await backlogSize(redis, keys, n)).toBe(4);
    expect(await luaCommands(redis).ack(shard.stream, shard.backlog, CONSUMER_GROUP, ids.slice(0, 3))).toBe(3);
    expect(await backlogSize(redis, keys, n)).toBe(1);
    expect(await redis.xpending(shard.stream, CONSUMER_GROUP)).toEqual([1, ids[3], ids[3], [['c1', '1']]]);
  });

  it('acknowledging twice counts once', async () => {
    const ids = await pendingEntries(3);
    expect(await luaCommands(redis).ack(shard.stream, shard.backlog, CONSUMER_GROUP, [ids[0]])).toBe(1);
    expect(await luaCommands(redis).ack(shard.stream, shard.backlog, CONSUMER_GROUP, [ids[0]])).toBe(0);
    expect(await backlogSize(redis, keys, n)).toBe(2);
    // a batch mixing acknowledged and pending entries counts only the pending ones
    expect(await luaCommands(redis).ack(shard.stream, shard.backlog, CONSUMER_GROUP, [ids[0], ids[1], ids[1]])).toBe(1);
    expect(await backlogSize(redis, keys, n)).toBe(1);
  });

  it('entries never delivered to a consumer are not acknowledged and not counted', async () => {
    const ids = await pendingEntries(1);
    const later = await append([ev()], 0); // appended after the read: not pending
    if (!later.ok) throw new Error('append refused');
    expect(await backlogSize(redis, keys, n)).toBe(2);
    expect(await luaCommands(redis).ack(shard.stream, shard.backlog, CONSUMER_GROUP, [later.entryIds[0], '1-1'])).toBe(
      0,
    );
    expect(await backlogSize(redis, keys, n)).toBe(2);
    expect(await luaCommands(redis).ack(shard.stream, shard.backlog, CONSUMER_GROUP, ids)).toBe(1);
    expect(await backlogSize(redis, keys, n)).toBe(1);
  });

  it('never lets the backlog go below 0', async () => {
    const ids = await pendingEntries(2);
    await redis.set(shard.backlog, 1); // e.g. reset by hand
    expect(await luaCommands(redis).ack(shard.stream, shard.backlog, CONSUMER_GROUP, ids)).toBe(2);
    expect(await backlogSize(redis, keys, n)).toBe(0);
  });

  it('works on a second Redis client too (scripts defined per client)', async () => {
    const ids = await pendingEntries(1);
    const other = testRedis();
    try {
      expect(await luaCommands(other).ack(shard.stream, shard.backlog, CONSUMER_GROUP, ids)).toBe(1);
      expect(await backlogSize(other, keys, n)).toBe(0);
    } finally {
      other.disconnect();
    }
  });
});
