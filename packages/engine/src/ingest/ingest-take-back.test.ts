/**
 * A batch across shards whose abort comes late (docs/contract.md §4, §7): one shard is over its
 * bound, and the take-back of the part stored on another shard reaches Redis only after
 * TAKE_BACK_MAX_AGE_MS (held back by a loopback proxy in front of the real Redis). The part is not
 * taken back — a worker may already count it as committed — so the answer is "outcome unknown";
 * the part stays and is delivered, and the producer's resend with the same ids stores the rest and
 * counts the stored part as duplicates: each event stored once.
 */
import Redis from 'ioredis';
import { redisKeys, shardOf, type StoredEvent } from '@devhooks/core';
import { RedisProxy } from '../../../../test/support/redis-proxy';
import { cleanPrefix, testPrefix, testRedis } from '../../../../test/support/redis';
import { BatchGate } from '../log/batch-gate';
import { decodeEvent } from '../log/stream-codec';
import { appendEvents, appendToShard, BATCH_DECIDE_MS, IngestOutcomeUnknown, TAKE_BACK_MAX_AGE_MS } from './ingest';

jest.setTimeout(30_000);

const prefix = testPrefix(__filename);
const keys = redisKeys(prefix);
const SHARDS = 2;
let redis: Redis;
let proxy: RedisProxy;
let viaProxy: Redis;

beforeAll(async () => {
  redis = testRedis();
  proxy = await RedisProxy.start();
  viaProxy = new Redis(proxy.url, { maxRetriesPerRequest: 3 });
});
afterAll(async () => {
  viaProxy.disconnect();
  await proxy.close();
  await cleanPrefix(prefix);
  redis.disconnect();
});

const ev = (device: string, id: string): StoredEvent => ({
  org: 'org_a',
  id,
  idGiven: true,
  type: 'device-status-changed',
  topic: 'deviceauth',
  device_id: device,
  time: '2024-01-01T00:00:00Z',
  data: JSON.stringify({ id: device, status: 'accepted' }),
});

it('keeps a part too old to take back: outcome unknown, delivered, and the resend makes the batch whole', async () => {
  const devices = Array.from({ length: 20 }, (_, i) => `dev-${i}`);
  const onFull = devices.filter((d) => shardOf('org_a', d, SHARDS) === 0).slice(0, 3);
  const onKept = devices.filter((d) => shardOf('org_a', d, SHARDS) === 1).slice(0, 3);
  const events = [...onFull, ...onKept].map((d) => ev(d, `late-${d}`));
  // shard 0 at its share of a bound of 2 × 5
  await appendToShard(
    redis,
    [1, 2, 3, 4, 5].map((i) => ({ ...ev(`filler-${i}`, `filler-${i}`), idGiven: false })),
    { keys, shard: 0, maxBacklog: 0 },
  );
  // the take-back of shard 1's part is the second command naming one of its ids (the first appends it)
  let seen = 0;
  proxy.holdWhen((chunk) => chunk.includes(`late-${onKept[0]}`) && ++seen === 2, TAKE_BACK_MAX_AGE_MS + 1_000);

  const outcome = await appendEvents(viaProxy, events, { keys, shards: SHARDS, maxBacklog: 10 }).catch((e) => e);
  expect(proxy.held).toBe(true);
  expect(outcome).toBeInstanceOf(IngestOutcomeUnknown);
  expect((outcome as IngestOutcomeUnknown).ids).toEqual(events.map((e) => e.id));

  // shard 1's part stays, with its duplicate-window keys and in the backlog; no batch marker
  const kept = (await redis.xrange(keys.shard(1).stream, '-', '+')).map(([entryId, f]) => ({
    entryId,
    event: decodeEvent(f),
  }));
  expect(kept.map((k) => k.event.id)).toEqual(onKept.map((d) => `late-${d}`));
  expect(await redis.get(keys.shard(1).backlog)).toBe('3');
  for (const k of kept) expect(await redis.exists(keys.shard(1).dedupe('org_a', k.event.id))).toBe(1);
  expect(await redis.keys(`${keys.tag}:batch:*`)).toEqual([]);
  // workers deliver it once it is BATCH_DECIDE_MS old (never dropped)
  const gate = new BatchGate(redis, keys, keys.shard(1).stream);
  const sorted = await gate.sort(kept, Date.now() + BATCH_DECIDE_MS);
  expect(sorted.ready.map((k) => k.event.id)).toEqual(kept.map((k) => k.event.id));
  expect(sorted.dropped).toEqual([]);

  // the producer sends the batch again, with the same ids, once there is room
  await redis.set(keys.shard(0).backlog, 0);
  const resent = await appendEvents(viaProxy, events, { keys, shards: SHARDS, maxBacklog: 10 });
  expect(resent).toMatchObject({ ok: true, accepted: 3, duplicates: 3 });
  const stored = [
    ...(await redis.xrange(keys.shard(0).stream, '-', '+')),
    ...(await redis.xrange(keys.shard(1).stream, '-', '+')),
  ].map(([, f]) => decodeEvent(f).id);
  for (const e of events) expect(stored.filter((id) => id === e.id)).toHaveLength(1);
});
