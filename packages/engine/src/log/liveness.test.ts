/**
 * Worker liveness over a real Redis: a worker's liveness in each shard's set, and claims of the
 * pending entries of consumers whose liveness lapsed — never of a live one, nor of one that never
 * said it was alive (left to the claim-idle time).
 */
import { CONSUMER_GROUP } from '@devhooks/core';
import { silentLogger } from '../ops/logger';
import { redisForTestFile, testRedis } from '../../../../test/support/redis';
import { WorkerLiveness } from './liveness';
import { StreamLease, type RawEntry } from './stream-lease';

const { keys, redis } = redisForTestFile(__filename);
const readers: StreamLease[] = [];
afterAll(() => readers.forEach((l) => l.close()));

let shard = 0;
function lease(consumer: string, liveness: string): StreamLease {
  const l = new StreamLease(redis, testRedis(), keys.shard(shard).stream, consumer, liveness);
  readers.push(l);
  return l;
}

/** Every entry `l` claims from dead consumers. */
async function claimDead(l: StreamLease): Promise<string[]> {
  const got: string[] = [];
  await l.claimFromDead(async (entries: RawEntry[]) => {
    got.push(...entries.map(([id]) => id));
    return true;
  });
  return got;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

it("claims a dead consumer's entries once its liveness lapsed and idle 1 s; never a live one's or an unknown one's", async () => {
  shard = 1;
  const { stream, liveness: set } = keys.shard(shard);
  const [dead, live, unknown, taker] = ['dead', 'live', 'unknown', 'taker'].map((c) => lease(c, set));
  await dead.ensureGroup();
  const held: Record<string, string[]> = {};
  for (const [name, l] of [
    ['dead', dead],
    ['live', live],
    ['unknown', unknown],
  ] as const) {
    for (let i = 0; i < 3; i++) await redis.xadd(stream, '*', 'n', `${name}${i}`);
    held[name] = ((await l.read(10, 100)) ?? []).map(([id]) => id);
  }
  const lives = ['dead', 'live', 'taker'].map((c) => new WorkerLiveness(redis, [set], c, 60_000, silentLogger()));
  for (const l of lives) await l.start();
  // all alive (or never known): nothing to claim
  expect(await claimDead(taker)).toEqual([]);

  await lives[0].stop(); // "dead" lapses now
  await sleep(1_100); // its entries idle past the minimum
  expect((await claimDead(taker)).sort()).toEqual(held.dead.sort());
  expect(await claimDead(taker)).toEqual([]);
  const owners = (await redis.xpending(stream, CONSUMER_GROUP, '-', '+', 100)) as Array<[string, string]>;
  const by = (c: string) =>
    owners
      .filter(([, o]) => o === c)
      .map(([id]) => id)
      .sort();
  expect(by('taker')).toEqual(held.dead.sort());
  expect(by('live')).toEqual(held.live.sort());
  expect(by('unknown')).toEqual(held.unknown.sort());
  for (const l of lives) await l.stop();
});

it('keeps saying alive every third of its TTL; a lapse is read on the Redis clock', async () => {
  shard = 2;
  const { liveness: set } = keys.shard(shard);
  const l = new WorkerLiveness(redis, [set], 'w', 600, silentLogger());
  await l.start();
  const first = Number(await redis.zscore(set, 'w'));
  await sleep(450);
  const later = Number(await redis.zscore(set, 'w'));
  expect(later).toBeGreaterThan(first);
  await l.stop();
  const [sec, micro] = await redis.time();
  expect(Number(await redis.zscore(set, 'w'))).toBeLessThanOrEqual(
    Number(sec) * 1000 + Math.floor(Number(micro) / 1000),
  );
});

it('knows whether it is surely still held: after a beat yes, after a stall past its TTL or a stop no', async () => {
  shard = 3;
  const { liveness: set } = keys.shard(shard);
  const l = new WorkerLiveness(redis, [set], 'w', 60_000, silentLogger());
  expect(l.surelyHeld()).toBe(false); // never said alive
  await l.start();
  expect(l.surelyHeld()).toBe(true);
  // a stall as long as the TTL: others may have taken it for dead
  expect(l.surelyHeld(performance.now() + 60_000)).toBe(false);
  await l.stop();
  expect(l.surelyHeld()).toBe(false);
});
