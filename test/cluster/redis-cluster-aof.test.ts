/**
 * The cluster helper's persistence option: with AOF and `appendfsync always`, a master with no
 * replica that is SIGKILLed takes the cluster down, and restarted in its own dir comes back with
 * every write it acknowledged. Also: the scrape-time Redis gauges over a cluster client (a keyed
 * script per stream, INFO of every master).
 */
import { Cluster, type Redis } from 'ioredis';
import { Registry } from 'prom-client';
import { CONSUMER_GROUP, redisKeys } from '@devhooks/core';
import { redisGauges } from '@devhooks/engine';
import { startRedisCluster, type RedisCluster } from '../support/redis-cluster';
import { nodeCommand } from '../support/redis-cluster-topology';

let cluster: RedisCluster;
let client: Cluster;

beforeAll(async () => {
  cluster = await startRedisCluster({ replicasPerMaster: 0, appendonly: true, fsyncAlways: true });
  client = new Cluster(
    cluster.seeds.map((s) => ({ host: '127.0.0.1', port: Number(new URL(s).port) })),
    { retryDelayOnClusterDown: 100, redisOptions: { maxRetriesPerRequest: 50 } },
  );
}, 60_000);

afterAll(async () => {
  await client?.quit();
  await cluster?.stop();
});

test('scrape-time gauges on a cluster: the oldest pending age of each shard stream, memory per master', async () => {
  const keys = redisKeys('t-gauges');
  const streams = Array.from({ length: 6 }, (_, n) => keys.shard(n).stream);
  const owners = new Set(await Promise.all(streams.map(async (k) => (await cluster.masterForKey(k)).port)));
  expect(owners.size).toBeGreaterThan(1); // the streams live on several masters
  const old = Date.now() - 90_000;
  for (const [n, stream] of streams.entries()) {
    await client.xadd(stream, `${old + n}-0`, 'e', 'x');
    await client.xgroup('CREATE', stream, CONSUMER_GROUP, '0', 'MKSTREAM');
  }
  await client.xreadgroup('GROUP', CONSUMER_GROUP, 'c1', 'COUNT', 1, 'STREAMS', streams[0], '>'); // pending
  await client.xreadgroup('GROUP', CONSUMER_GROUP, 'c1', 'COUNT', 1, 'STREAMS', streams[1], '>');
  await client.xack(streams[1], CONSUMER_GROUP, `${old + 1}-0`); // acknowledged: nothing left

  const registry = new Registry();
  redisGauges(registry, client as unknown as Redis, keys, streams.length);
  const values = async (name: string) => (await registry.getSingleMetric(name)!.get()).values;
  const ages = Object.fromEntries(
    (await values('devhooks_oldest_pending_age_seconds')).map((v) => [v.labels.stream, v.value]),
  );
  expect(Object.keys(ages).sort()).toEqual([...streams].sort());
  expect(ages[streams[1]]).toBe(0);
  for (const s of [streams[0], ...streams.slice(2)]) expect(ages[s]).toBeGreaterThanOrEqual(90);

  const used = await values('devhooks_redis_memory_used_bytes');
  const masters = (await cluster.masters()).map((m) => m.port).sort();
  expect(used.map((v) => Number(String(v.labels.node).split(':')[1])).sort()).toEqual(masters);
  for (const v of used) expect(v.value).toBeGreaterThan(0);
  expect(await values('devhooks_redis_maxmemory_bytes')).toHaveLength(masters.length);
});

test('a master restarted from its AOF keeps what it acknowledged', async () => {
  expect(cluster.nodes).toHaveLength(3);
  for (const n of cluster.nodes) {
    expect(await nodeCommand(n.port, 'CONFIG', 'GET', 'appendfsync')).toEqual(['appendfsync', 'always']);
  }
  const keys = Array.from({ length: 50 }, (_, i) => `t-aof:{k${i}}`);
  for (const k of keys) await client.set(k, `v-${k}`);
  const victim = await cluster.masterForKey(keys[0]);
  expect(victim.replicas).toEqual([]);

  await cluster.killNode(victim.port);
  await cluster.waitForState(false);
  await cluster.restartNode(victim.port);
  await cluster.waitForState(true);

  expect((await cluster.masterForKey(keys[0])).port).toBe(victim.port);
  expect(await Promise.all(keys.map((k) => client.get(k)))).toEqual(keys.map((k) => `v-${k}`));
}, 60_000);
