/** The shard-count history and the ingest plan every API process follows (docs/decisions/0006), over a real Redis. */
import { redisForTestFile, testRedis } from '../../../../test/support/redis';
import {
  EARLIER_COUNT_LOOKUP_MS,
  ingestShardPlan,
  readShardCounts,
  recordShardCount,
  SHARD_SWITCH_MS,
  ShardCountError,
  ShardLayout,
} from './shard-count';

const { keys, redis } = redisForTestFile(__filename, { cleanAfterEach: true });

describe('ingestShardPlan', () => {
  const T = 1_700_000_000_000;

  it('uses the one count recorded, looking nowhere else', () => {
    expect(ingestShardPlan([{ count: 4, since: T }], T)).toEqual({ shards: 4, lookups: [] });
  });

  it('keeps the earlier count for SHARD_SWITCH_MS after a larger one is recorded, looking the larger one up', () => {
    const history = [
      { count: 4, since: 0 },
      { count: 8, since: T },
    ];
    expect(ingestShardPlan(history, T)).toEqual({ shards: 4, lookups: [8] });
    expect(ingestShardPlan(history, T + SHARD_SWITCH_MS - 1)).toEqual({ shards: 4, lookups: [8] });
    expect(ingestShardPlan(history, T + SHARD_SWITCH_MS)).toEqual({ shards: 8, lookups: [4] });
  });

  it('looks the earlier count up until the duplicate window (and an hour) has passed since it was last used', () => {
    const history = [
      { count: 4, since: 0 },
      { count: 8, since: T },
    ];
    const lastUse = T + SHARD_SWITCH_MS;
    expect(ingestShardPlan(history, lastUse + EARLIER_COUNT_LOOKUP_MS - 1)).toEqual({ shards: 8, lookups: [4] });
    expect(ingestShardPlan(history, lastUse + EARLIER_COUNT_LOOKUP_MS)).toEqual({ shards: 8, lookups: [] });
  });

  it('with several growths, uses the latest count in use and looks up every other one that may hold keys', () => {
    const history = [
      { count: 2, since: 0 },
      { count: 4, since: T },
      { count: 8, since: T + 60_000 },
    ];
    expect(ingestShardPlan(history, T + 60_000)).toEqual({ shards: 4, lookups: [2, 8] });
    expect(ingestShardPlan(history, T + 60_000 + SHARD_SWITCH_MS)).toEqual({ shards: 8, lookups: [2, 4] });
  });
});

describe('recording shard counts', () => {
  it('records the first count, then a larger one with the Redis time it was first recorded', async () => {
    const first = await recordShardCount(redis, keys, 4);
    expect(first.most).toBe(4);
    expect(first.history).toEqual([{ count: 4, since: first.now }]);
    const grown = await recordShardCount(redis, keys, 8);
    expect(grown.most).toBe(8);
    expect(grown.history).toEqual([
      { count: 4, since: first.now },
      { count: 8, since: grown.now },
    ]);
    // recorded again later: its first time stays
    const again = await recordShardCount(redis, keys, 8);
    expect(again.history).toEqual(grown.history);
    expect(await redis.get(keys.shardCount)).toBe('8');
  });

  it('refuses fewer shards than used, saying how many to use', async () => {
    await recordShardCount(redis, keys, 8);
    await expect(recordShardCount(redis, keys, 4)).rejects.toThrow(ShardCountError);
    await expect(recordShardCount(redis, keys, 4)).rejects.toThrow(/DEVHOOKS_SHARDS=8/);
    // reading without the start-time check is fine: an old process learning the new count
    expect((await readShardCounts(redis, keys, 4)).most).toBe(8);
  });

  it('takes a most-used count recorded before the history was kept as in use since ever', async () => {
    await redis.set(keys.shardCount, '4');
    const state = await recordShardCount(redis, keys, 8);
    expect(state.history).toEqual([
      { count: 4, since: 0 },
      { count: 8, since: state.now },
    ]);
  });
});

describe('ShardLayout', () => {
  it('an API process started with the old count follows a larger count recorded by another process', async () => {
    const old = new ShardLayout(redis, keys, 4);
    await old.record();
    expect(await old.plan()).toEqual({ shards: 4, lookups: [] });
    // a process started with 8 records it: ingest keeps 4 shards until the switch, looking 8 up
    const grown = new ShardLayout(redis, keys, 8);
    await grown.record();
    expect(await grown.plan()).toEqual({ shards: 4, lookups: [8] });
    // the old process has not read it yet (its next read is up to a second away): read now
    await old.refresh();
    expect(await old.plan()).toEqual({ shards: 4, lookups: [8] });
    expect(old.most).toBe(8);
    // once the switch time has passed by the Redis clock, both append under 8 and look 4 up
    await redis.hset(keys.shardHistory, '8', String(Date.now() - SHARD_SWITCH_MS - 60_000));
    await old.refresh();
    await grown.refresh();
    expect(await old.plan()).toEqual({ shards: 8, lookups: [4] });
    expect(await grown.plan()).toEqual({ shards: 8, lookups: [4] });
  });

  it('refuses to start with fewer shards than used', async () => {
    await recordShardCount(redis, keys, 8);
    await expect(new ShardLayout(redis, keys, 4).record()).rejects.toThrow(ShardCountError);
  });

  it('reads the counts on the spot when it has none, and answers "not sent" when Redis cannot be read', async () => {
    const fresh = new ShardLayout(redis, keys, 2);
    // no view yet: the hot path's planNow() leaves it to plan(), which reads; then it has one
    expect(fresh.planNow()).toBeUndefined();
    expect(await fresh.plan()).toEqual({ shards: 2, lookups: [] });
    expect(fresh.planNow()).toEqual({ shards: 2, lookups: [] });
    const gone = testRedis({ lazy: true });
    gone.disconnect();
    const cut = new ShardLayout(gone, keys, 2);
    await expect(cut.plan()).rejects.toThrow(/not sent/);
  });
});
