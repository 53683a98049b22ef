/**
 * A worker's lease on a shard's stream over a real Redis: the consumer group, reading new entries,
 * claiming entries another consumer left idle, and the heartbeat that keeps held entries unclaimed.
 */
import { CONSUMER_GROUP } from '@devhooks/core';
import { redisForTestFile, testRedis } from '../../../../test/support/redis';
import { StreamLease, type RawEntry } from './stream-lease';

const { keys, redis } = redisForTestFile(__filename);
const leases: StreamLease[] = [];

afterAll(async () => {
  for (const l of leases) l.close();
});

/** Each test has its own shard, so its stream starts empty. */
let shard = 0;
let stream: string;
beforeEach(() => {
  stream = keys.shard(++shard).stream;
});

function lease(consumer: string): StreamLease {
  const l = new StreamLease(redis, testRedis(), stream, consumer);
  leases.push(l);
  return l;
}

const add = async (n: number) => {
  const ids: string[] = [];
  for (let i = 0; i < n; i++) ids.push((await redis.xadd(stream, '*', 'n', String(i)))!);
  return ids;
};
const idsOf = (entries: RawEntry[] | null) => (entries ?? []).map(([id]) => id);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Claims every idle entry for `l`, page by page. */
async function claimAll(l: StreamLease, idleMs: number): Promise<string[]> {
  const got: string[] = [];
  await l.claimIdle(idleMs, async (entries) => {
    got.push(...idsOf(entries));
    return true;
  });
  return got;
}

/** Consumers `a` and `b` on a fresh stream, `a` holding `n` new entries it has read. */
async function heldByA(n: number): Promise<{ a: StreamLease; b: StreamLease; ids: string[] }> {
  const a = lease('a');
  const b = lease('b');
  await a.ensureGroup();
  const ids = await add(n);
  await a.read(10, 100);
  return { a, b, ids };
}

describe('StreamLease', () => {
  it('creates the group (and the stream) once; again is a no-op', async () => {
    const a = lease('a');
    await a.ensureGroup();
    await a.ensureGroup();
    const groups = (await redis.xinfo('GROUPS', stream)) as unknown[][];
    expect(groups).toHaveLength(1);
    expect(groups[0]).toContain(CONSUMER_GROUP);
  });

  it('reads new entries once, with their fields; null when none come', async () => {
    const a = lease('a');
    await a.ensureGroup();
    const ids = await add(3);
    const first = await a.read(2, 100);
    expect(idsOf(first)).toEqual(ids.slice(0, 2));
    expect(first![0][1]).toEqual(['n', '0']);
    expect(idsOf(await a.read(10, 100))).toEqual(ids.slice(2));
    expect(await a.read(10, 50)).toBeNull();
  });

  it('remakes a deleted group and reports the failed read', async () => {
    const a = lease('a');
    await a.ensureGroup();
    await redis.del(stream);
    await expect(a.read(10, 50)).rejects.toThrow(/NOGROUP/);
    expect((await redis.xinfo('GROUPS', stream)) as unknown[]).toHaveLength(1);
  });

  it("claims another consumer's idle entries, a page at a time, and stops when told", async () => {
    const { a, b, ids } = await heldByA(3);
    expect(await claimAll(b, 60_000)).toEqual([]);
    await sleep(60);
    expect(await claimAll(b, 50)).toEqual(ids);
    const pending = (await redis.xpending(stream, CONSUMER_GROUP, '-', '+', 10)) as Array<[string, string]>;
    expect(pending.map(([id, owner]) => [id, owner])).toEqual(ids.map((id) => [id, 'b']));

    let pages = 0;
    await sleep(60);
    await a.claimIdle(50, async () => {
      pages++;
      return false;
    });
    expect(pages).toBe(1);
  });

  it('skips entries deleted while pending', async () => {
    const { b, ids } = await heldByA(2);
    await redis.xdel(stream, ids[0]);
    await sleep(60);
    expect(await claimAll(b, 50)).toEqual([ids[1]]);
  });

  it('a heartbeat keeps held entries from being claimed', async () => {
    const { a, b, ids } = await heldByA(2);
    await sleep(400);
    await a.heartbeat([ids[0]]);
    expect(await claimAll(b, 300)).toEqual([ids[1]]);
    const owners = (await redis.xpending(stream, CONSUMER_GROUP, '-', '+', 10)) as Array<[string, string]>;
    expect(owners.map(([id, owner]) => [id, owner])).toEqual([
      [ids[0], 'a'],
      [ids[1], 'b'],
    ]);
  });
});
