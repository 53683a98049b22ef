/** Appending across shards (docs/contract.md §7) over a real Redis: routing, all or nothing, duplicates. */
import { shardOf, type StoredEvent } from '@devhooks/core';
import { redisForTestFile } from '../../../../test/support/redis';
import { decodeEvent } from '../log/stream-codec';
import { luaCommands } from '../redis/lua-commands';
import { appendEvents, appendToShard, backlogSize, shardsOf, TAKE_BACK_MAX_AGE_MS } from './ingest';

const { keys, redis } = redisForTestFile(__filename, { cleanAfterEach: true });
const SHARDS = 4;

let seq = 0;
function ev(device: string, id?: string): StoredEvent {
  seq++;
  return {
    org: 'org_a',
    id: id ?? `gen-${seq}`,
    idGiven: id !== undefined,
    type: 'device-status-changed',
    topic: 'deviceauth',
    device_id: device,
    time: '2024-01-01T00:00:00Z',
    data: JSON.stringify({ id: device, status: 'accepted', n: seq }),
  };
}

/** Devices that land on at least two different shards. */
function spread(n: number): string[] {
  const devices = Array.from({ length: n }, (_, i) => `dev-${i}`);
  expect(new Set(devices.map((d) => shardOf('org_a', d, SHARDS))).size).toBeGreaterThan(1);
  return devices;
}

async function entries(shard: number) {
  return (await redis.xrange(keys.shard(shard).stream, '-', '+')).map(([id, f]) => ({ id, e: decodeEvent(f) }));
}

describe('appendEvents over shards', () => {
  it("puts each event on its partition key's shard, in order, and commits a batch across shards", async () => {
    const devices = spread(12);
    const events = devices.flatMap((d) => [ev(d, `${d}-a`), ev(d, `${d}-b`)]);
    const r = await appendEvents(redis, events, { keys, shards: SHARDS, maxBacklog: 0 });
    expect(r.ok && r.accepted).toBe(events.length);
    const where = shardsOf(events, SHARDS);
    let batch: string | undefined;
    for (let s = 0; s < SHARDS; s++) {
      const got = await entries(s);
      expect(got.map((g) => g.e.id)).toEqual(events.filter((_, i) => where[i] === s).map((e) => e.id));
      for (const g of got) batch ??= g.e.batch;
      for (const g of got) expect(g.e.batch).toBe(batch);
    }
    expect(await redis.get(keys.batchMarker(batch!))).toBe('c');
  });

  it('appends a batch on one shard in one step, with no batch marker', async () => {
    const events = [ev('solo', 's1'), ev('solo', 's2')];
    const r = await appendEvents(redis, events, { keys, shards: SHARDS, maxBacklog: 0 });
    expect(r.ok && r.accepted).toBe(2);
    const got = await entries(shardOf('org_a', 'solo', SHARDS));
    expect(got.map((g) => g.e.batch)).toEqual([undefined, undefined]);
  });

  it('counts a whole batch sent again as duplicates, across shards', async () => {
    const events = spread(10).map((d) => ev(d, `once-${d}`));
    await appendEvents(redis, events, { keys, shards: SHARDS, maxBacklog: 0 });
    const again = await appendEvents(redis, events, { keys, shards: SHARDS, maxBacklog: 0 });
    expect(again).toMatchObject({ ok: true, accepted: 0, duplicates: 10 });
  });

  it('takes every part back when one shard is over its bound: nothing changed, and the same ids are accepted later', async () => {
    const devices = spread(10);
    const events = devices.map((d) => ev(d, `bound-${d}`));
    const full = shardsOf(events, SHARDS)[0];
    // fill one shard to its share of a bound of 4 × 5
    await appendToShard(
      redis,
      [1, 2, 3, 4, 5].map((i) => ev(`filler-${i}`)),
      { keys, shard: full, maxBacklog: 0 },
    );
    const before = await Promise.all([0, 1, 2, 3].map((s) => redis.xlen(keys.shard(s).stream)));
    const r = await appendEvents(redis, events, { keys, shards: SHARDS, maxBacklog: 20 });
    expect(r.ok).toBe(false);
    expect(await Promise.all([0, 1, 2, 3].map((s) => redis.xlen(keys.shard(s).stream)))).toEqual(before);
    for (let s = 0; s < SHARDS; s++) expect(await backlogSize(redis, keys, s)).toBe(s === full ? 5 : 0);
    const markers = await redis.keys(`${keys.tag}:batch:*`);
    expect(markers).toHaveLength(1);
    expect(await redis.get(markers[0])).toBe('a');
    // the duplicate window was freed: the same events are accepted once there is room
    await redis.set(keys.shard(full).backlog, 0);
    const later = await appendEvents(redis, events, { keys, shards: SHARDS, maxBacklog: 20 });
    expect(later).toMatchObject({ ok: true, accepted: 10, duplicates: 0 });
  });
});

describe('after DEVHOOKS_SHARDS grew (docs/decisions/0006)', () => {
  const GROWN = 2 * SHARDS;
  const grown = { keys, shards: GROWN, maxBacklog: 0, lookupShardCounts: [SHARDS] };

  /** Events of devices whose shard changes from SHARDS to GROWN shards, and of some whose shard stays. */
  function moving(n: number, tag: string): StoredEvent[] {
    const devices = Array.from({ length: 40 }, (_, i) => `dev-${i}`);
    const moved = devices.filter((d) => shardOf('org_a', d, SHARDS) !== shardOf('org_a', d, GROWN));
    const stayed = devices.filter((d) => shardOf('org_a', d, SHARDS) === shardOf('org_a', d, GROWN));
    expect(moved.length).toBeGreaterThanOrEqual(n);
    expect(stayed.length).toBeGreaterThanOrEqual(n);
    return [...moved.slice(0, n), ...stayed.slice(0, n)].map((d) => ev(d, `${tag}-${d}`));
  }

  it('counts ids accepted under the earlier count as duplicates, whether or not their shard changed', async () => {
    const events = moving(4, 'g1');
    const first = await appendEvents(redis, events, { keys, shards: SHARDS, maxBacklog: 0 });
    expect(first).toMatchObject({ ok: true, accepted: 8 });
    const again = await appendEvents(redis, events, grown);
    expect(again).toMatchObject({ ok: true, accepted: 0, duplicates: 8, ids: events.map((e) => e.id) });
    let total = 0;
    for (let s = 0; s < GROWN; s++) total += await redis.xlen(keys.shard(s).stream);
    expect(total).toBe(8);
    // without looking the earlier count up, the 4 whose shard changed would be accepted again
    const blind = await appendEvents(redis, events, { ...grown, lookupShardCounts: [] });
    expect(blind).toMatchObject({ ok: true, accepted: 4, duplicates: 4 });
  });

  it('appends the new events of a request and counts only the seen ones as duplicates, in place', async () => {
    const seen = moving(3, 'g2');
    await appendEvents(redis, seen, { keys, shards: SHARDS, maxBacklog: 0 });
    const fresh = moving(3, 'g2-new');
    const mixed = [seen[0], fresh[0], seen[4], fresh[1], fresh[5], seen[1]];
    const r = await appendEvents(redis, mixed, grown);
    expect(r).toMatchObject({ ok: true, accepted: 3, duplicates: 3, ids: mixed.map((e) => e.id) });
    if (!r.ok) return;
    expect(r.entryIds.map((id) => id !== '')).toEqual([false, true, false, true, true, false]);
    // the new ones went to their shard under the grown count
    const where = shardsOf(mixed, GROWN);
    for (const i of [1, 3, 4]) {
      const got = await entries(where[i]);
      expect(got.map((g) => g.e.id)).toContain(mixed[i].id);
    }
  });

  it('an id first accepted under the grown count is a duplicate for a process still appending under the earlier one', async () => {
    const events = moving(3, 'g3');
    await appendEvents(redis, events, grown);
    const old = await appendEvents(redis, events, { keys, shards: SHARDS, maxBacklog: 0, lookupShardCounts: [GROWN] });
    expect(old).toMatchObject({ ok: true, accepted: 0, duplicates: 6 });
  });

  it('looks up only ids given by the producer', async () => {
    const events = moving(2, 'g4');
    await appendEvents(redis, events, { keys, shards: SHARDS, maxBacklog: 0 });
    const generated = events.map((e) => ({ ...e, idGiven: false }));
    const r = await appendEvents(redis, [generated[0]], grown);
    expect(r).toMatchObject({ ok: true, accepted: 1, duplicates: 0 });
  });
});

describe('taking back a part of an aborted batch', () => {
  it('refuses, changing nothing, once a part is TAKE_BACK_MAX_AGE_MS old; takes a young part back', async () => {
    const sk = keys.shard(0);
    const old = `${Date.now() - TAKE_BACK_MAX_AGE_MS - 1_000}-0`;
    await redis.xadd(sk.stream, old, 'e', 'x');
    await redis.set(sk.backlog, 1);
    await redis.set(sk.dedupe('org_a', 'old-1'), '1');
    const lua = luaCommands(redis);
    expect(await lua.unappend(sk.stream, sk.backlog, [sk.dedupe('org_a', 'old-1')], [old], TAKE_BACK_MAX_AGE_MS)).toBe(
      -1,
    );
    expect(await redis.xlen(sk.stream)).toBe(1);
    expect(await redis.get(sk.backlog)).toBe('1');
    expect(await redis.exists(sk.dedupe('org_a', 'old-1'))).toBe(1);

    const young = (await redis.xadd(sk.stream, '*', 'e', 'y'))!;
    await redis.incr(sk.backlog);
    await redis.set(sk.dedupe('org_a', 'young-1'), '1');
    expect(
      await lua.unappend(sk.stream, sk.backlog, [sk.dedupe('org_a', 'young-1')], [young], TAKE_BACK_MAX_AGE_MS),
    ).toBe(1);
    expect(await redis.xlen(sk.stream)).toBe(1);
    expect(await redis.get(sk.backlog)).toBe('1');
    expect(await redis.exists(sk.dedupe('org_a', 'young-1'))).toBe(0);
  });
});
