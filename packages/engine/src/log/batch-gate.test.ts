/** Which entries of batches across shards may be delivered (docs/contract.md §4, §7), over a real Redis. */
import type { Redis } from 'ioredis';
import { redisKeys, type StoredEvent } from '@devhooks/core';
import { cleanPrefix, testPrefix, testRedis } from '../../../../test/support/redis';
import { BATCH_DECIDE_MS } from '../ingest/ingest';
import { BatchGate } from './batch-gate';
import { encodeEvent } from './stream-codec';

const prefix = testPrefix(__filename);
const keys = redisKeys(prefix);
const stream = keys.shard(0).stream;
let redis: Redis;
let gate: BatchGate;

beforeAll(() => {
  redis = testRedis();
  gate = new BatchGate(redis, keys, stream);
});
afterAll(async () => {
  await cleanPrefix(prefix);
  redis.disconnect();
});

const event = (id: string, batch?: string): StoredEvent => ({
  org: 'o',
  id,
  idGiven: true,
  type: 'audit',
  topic: 'audits',
  time: '2024-01-01T00:00:00Z',
  data: '{}',
  ...(batch ? { batch } : {}),
});

async function add(id: string, batch?: string) {
  const entryId = (await redis.xadd(stream, '*', 'e', encodeEvent(event(id, batch))[0]))!;
  return { entryId, event: event(id, batch) };
}

it('lets through plain entries and committed batches, drops aborted ones, holds young undecided ones', async () => {
  await redis.set(keys.batchMarker('b-c'), 'c');
  await redis.set(keys.batchMarker('b-a'), 'a');
  const plain = await add('p');
  const committed = await add('c', 'b-c');
  const aborted = await add('a', 'b-a');
  const young = await add('y', 'b-none');
  const out = await gate.sort([plain, committed, aborted, young]);
  expect(out.ready.map((i) => i.event.id)).toEqual(['p', 'c']);
  expect(out.dropped.map((i) => i.event.id)).toEqual(['a']);
  expect(out.waiting.map((i) => i.event.id)).toEqual(['y']);
});

it('counts an old entry with no marker as committed while it is in the stream, as taken back once deleted', async () => {
  const kept = await add('kept', 'b-lost');
  const gone = await add('gone', 'b-lost');
  await redis.xdel(stream, gone.entryId);
  const later = Date.now() + BATCH_DECIDE_MS + 1;
  const out = await gate.sort([kept, gone], later);
  expect(out.ready.map((i) => i.event.id)).toEqual(['kept']);
  expect(out.dropped.map((i) => i.event.id)).toEqual(['gone']);
  expect(out.waiting).toEqual([]);
});
