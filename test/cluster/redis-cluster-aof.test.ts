/**
 * The cluster helper's persistence option: with AOF and `appendfsync always`, a master with no
 * replica that is SIGKILLed takes the cluster down, and restarted in its own dir comes back with
 * every write it acknowledged.
 */
import { Cluster } from 'ioredis';
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
